"""`plugmt-registry`: look inside a store, and move modules between stores.

list / show / verify / remove never load TensorFlow; import loads the architecture registry (and so
TensorFlow) because it only accepts architectures this plugmt can build.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plugmt.cli.runtime import store_path
from plugmt.errors import PlugmtError, exit_with_error
from plugmt.registry import check_stored_architecture
from plugmt.storage import Store, StoredModule
from plugmt.storage.card import CARD
from plugmt.storage.spaces import passed_over


def _line(module: StoredModule, passed: dict[str, str] | None = None) -> str:
    """One module; a student says whose space it joined, and which of its languages `source=` reads
    with another encoder of that space (`passed`: `storage.spaces.passed_over`)."""
    meta = module.meta
    if meta.get("role") == "encoder":
        student = f"  student of {meta.get('teacher')} (its space)" if meta.get("space") else ""
        student += "".join(f"  (source={lang} reads {other})" for lang, other in (passed or {}).items())
        return (
            f"encoder  {module.id}  reads {', '.join(meta.get('languages', []))}{student}  "
            f"{meta.get('created', '')}"
        )
    pairs = ", ".join("-".join(p) for p in meta.get("pairs", []))
    return (
        f"decoder  {module.id}  {meta.get('lang')}  {meta.get('stage')} on {pairs}  "
        f"against {meta.get('encoder_id')}  {meta.get('created', '')}"
    )


STORE_HELP = "store folder or fsspec URL (default: $PLUGMT_STORE or ./store)"


def _parser() -> argparse.ArgumentParser:
    from plugmt.cli.runtime import version_line

    parser = argparse.ArgumentParser(prog="plugmt-registry", description=__doc__)
    parser.add_argument("--store", default=None, help=STORE_HELP)
    parser.add_argument("--version", action="version", version=version_line("plugmt-registry"))
    # `--store` is also accepted after the command (`plugmt-registry list --store X`); SUPPRESS keeps
    # a value given before the command when none is given after it.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--store", default=argparse.SUPPRESS, help=STORE_HELP)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=[after])

    command("list", "every stored encoder and decoder")
    show = command(
        "show", "one module's card: what it is, how it was trained, by what (--json: its metadata)"
    )
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="print meta.json instead (for scripts)")
    command("verify", "check every module whole (files, weights, metadata); exit 1 if any is damaged")
    export = command("export", "write one module to a .tar.gz bundle")
    export.add_argument("id")
    export.add_argument("archive", help="the bundle to write, e.g. cs-decoder.tar.gz")
    load = command("import", "check a bundle completely, then add its module to the store")
    load.add_argument("archive")
    remove = command("remove", "delete one module (atomically)")
    remove.add_argument("id")
    remove.add_argument(
        "--force", action="store_true", help="remove an encoder even though stored decoders point to it"
    )
    return parser


def _show(store: Store, module_id: str, as_json: bool = False) -> None:
    module = store.find(module_id)
    if as_json:
        print(json.dumps(module.meta, indent=2, sort_keys=True))
    else:  # the card stored with it (README.md), as whoever was handed the module reads it
        sys.stdout.write(module.file(CARD).decode("utf-8", errors="replace"))
    encoder_id = module.meta.get("encoder_id")
    if module.role == "decoder" and not store.has_encoder(str(encoder_id)):
        # On stderr: stdout stays the JSON, for scripts.
        note = f"note: its encoder {encoder_id} is not in this store; import it to use this decoder"
        print(note, file=sys.stderr)


def _list(store: Store, given: str | None) -> None:
    """Every module, one a line; a store with none says so (on stderr) instead of printing nothing."""
    modules = store.encoders() + store.decoders()
    for module in modules:
        print(_line(module, passed_over(store, module) if module.meta.get("space") else None))
    if modules:
        return
    where = store_path(given)
    missing = isinstance(where, Path) and not where.exists()
    if missing:
        raise PlugmtError(
            f"no store at {where}; give --store <folder or URL> (or set PLUGMT_STORE), or train one "
            "with `plugmt-train`"
        )
    print(
        f"plugmt-registry: the store {store.root} is empty (no encoders or decoders); train one with "
        "`plugmt-train store=...` or add one with `plugmt-registry import`",
        file=sys.stderr,
    )


def _verify(store: Store) -> None:
    """Every module checked whole (`store_checks`): files, weights, fingerprints, config, meta."""
    modules = store.encoders() + store.decoders()
    broken = [(m.id, store.damaged[m.key]) for m in store.damaged_modules()]
    for module in modules:
        try:
            store.verify(module)
        except PlugmtError as error:
            broken.append((module.id, str(error)))
    for name, error in broken:
        print(f"DAMAGED {name}: {error}")
    total = len(modules) + len(store.damaged)
    print(f"{total - len(broken)} of {total} modules intact")
    if broken:
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        # verify reports damaged modules itself, on stdout; the others warn once on stderr.
        store = Store(store_path(args.store), warn=args.command != "verify")
        if args.command == "list":
            _list(store, args.store)
        elif args.command == "show":
            _show(store, args.id, args.json)
        elif args.command == "verify":
            _verify(store)
        elif args.command == "export":
            from plugmt.storage.bundles import export_bundle

            written = export_bundle(store, store.find(args.id), args.archive)
            print(f"exported {args.id} to {written}")
        elif args.command == "import":
            from plugmt.storage.bundles import import_bundle

            module = import_bundle(store, args.archive, check_stored_architecture)
            print(f"imported {module.role} {module.id} into {store.root}")
            encoder_id = str(module.meta.get("encoder_id"))
            if module.role == "decoder" and not store.has_encoder(encoder_id):
                print(f"note: its encoder {encoder_id} is not in this store yet", file=sys.stderr)
        else:
            store.remove(store.find(args.id, damaged=True), force=args.force)
            print(f"removed {args.id}")
    except PlugmtError as error:
        exit_with_error(error)
