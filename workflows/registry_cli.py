"""`plugmt-registry`: look inside a store (list, show, verify) without loading TensorFlow."""

from __future__ import annotations

import argparse
import json
import sys

from plugmt.errors import PlugmtError
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


def _find(store: Store, module_id: str) -> StoredModule:
    for module in store.encoders() + store.decoders():
        if module.id == module_id:
            return module
    raise PlugmtError(f"no module {module_id!r} in the store {store.root}; `plugmt-registry list` shows them")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="plugmt-registry", description=__doc__)
    parser.add_argument("--store", default=None, help="store folder (default: $PLUGMT_STORE or ./store)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every stored encoder and decoder")
    show = commands.add_parser("show", help="one module's metadata as JSON")
    show.add_argument("id")
    commands.add_parser("verify", help="check every file's checksum; exit 1 if any module is damaged")
    args = parser.parse_args(argv)
    store = Store(store_path(args.store))
    try:
        if args.command == "list":
            for module in store.encoders() + store.decoders():
                print(_line(module))
        elif args.command == "show":
            print(json.dumps(_find(store, args.id).meta, indent=2, sort_keys=True))
        else:
            damaged = 0
            modules = store.encoders() + store.decoders()
            for module in modules:
                try:
                    store.verify(module)
                except PlugmtError as error:
                    damaged += 1
                    print(f"DAMAGED {module.id}: {error}")
            print(f"{len(modules) - damaged} of {len(modules)} modules intact")
            if damaged:
                sys.exit(1)
    except PlugmtError as error:
        print(f"plugmt: error: {error}", file=sys.stderr)
        sys.exit(2)
