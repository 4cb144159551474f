"""`plugmt-registry`: look inside a store, and move modules between stores.

list / show / verify / remove never load TensorFlow; import loads the architecture registry (and so
TensorFlow) because it only accepts architectures this plugmt can build.
"""

from __future__ import annotations

import argparse
import json
import sys

from plugmt.errors import PlugmtError, exit_with_error
from plugmt.registry import Store, StoredModule
from plugmt.workflows.runtime import store_path


def _line(module: StoredModule) -> str:
    meta = module.meta
    if meta.get("role") == "encoder":
        return (
            f"encoder  {module.id}  reads {', '.join(meta.get('languages', []))}  {meta.get('created', '')}"
        )
    pairs = ", ".join("-".join(p) for p in meta.get("pairs", []))
    return (
        f"decoder  {module.id}  {meta.get('lang')}  {meta.get('stage')} on {pairs}  "
        f"against {meta.get('encoder_id')}  {meta.get('created', '')}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plugmt-registry", description=__doc__)
    parser.add_argument(
        "--store", default=None, help="store folder or fsspec URL (default: $PLUGMT_STORE or ./store)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every stored encoder and decoder")
    show = commands.add_parser("show", help="one module's metadata as JSON")
    show.add_argument("id")
    commands.add_parser(
        "verify", help="check every module whole (files, weights, metadata); exit 1 if any is damaged"
    )
    export = commands.add_parser("export", help="write one module to a .tar.gz bundle")
    export.add_argument("id")
    export.add_argument("archive", help="the bundle to write, e.g. cs-decoder.tar.gz")
    load = commands.add_parser("import", help="check a bundle completely, then add its module to the store")
    load.add_argument("archive")
    remove = commands.add_parser("remove", help="delete one module (atomically)")
    remove.add_argument("id")
    remove.add_argument(
        "--force", action="store_true", help="remove an encoder even though stored decoders point to it"
    )
    return parser


def _show(store: Store, module_id: str) -> None:
    module = store.find(module_id)
    print(json.dumps(module.meta, indent=2, sort_keys=True))
    encoder_id = module.meta.get("encoder_id")
    if module.role == "decoder" and not store.has_encoder(str(encoder_id)):
        # On stderr: stdout stays the JSON, for scripts.
        note = f"note: its encoder {encoder_id} is not in this store; import it to use this decoder"
        print(note, file=sys.stderr)


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
            for module in store.encoders() + store.decoders():
                print(_line(module))
        elif args.command == "show":
            _show(store, args.id)
        elif args.command == "verify":
            _verify(store)
        elif args.command == "export":
            from plugmt.bundles import export_bundle

            written = export_bundle(store, store.find(args.id), args.archive)
            print(f"exported {args.id} to {written}")
        elif args.command == "import":
            from plugmt.bundles import import_bundle

            module = import_bundle(store, args.archive)
            print(f"imported {module.role} {module.id} into {store.root}")
            encoder_id = str(module.meta.get("encoder_id"))
            if module.role == "decoder" and not store.has_encoder(encoder_id):
                print(f"note: its encoder {encoder_id} is not in this store yet", file=sys.stderr)
        else:
            store.remove(store.find(args.id, damaged=True), force=args.force)
            print(f"removed {args.id}")
    except PlugmtError as error:
        exit_with_error(error)
