"""`python -m plugmt <command> ...`: the console scripts without their entry points on PATH.

python -m plugmt translate store=tour decoder=de -- "May 5, 2016"
python -m plugmt registry list --store tour
"""

from __future__ import annotations

import sys

COMMANDS = {
    "run": "plugmt.cli.apps:run_main",
    "train": "plugmt.cli.apps:train_main",
    "eval": "plugmt.cli.apps:eval_main",
    "translate": "plugmt.cli.apps:translate_main",
    "registry": "plugmt.cli.apps:registry_main",
    "export": "plugmt.cli.apps:export_main",
    "study": "plugmt.cli.study_cli:main",
}
USAGE = f"usage: python -m plugmt {{{','.join(COMMANDS)}}} [arguments...]  (--version, <command> --help)"


def main(argv: list[str] | None = None) -> None:
    import importlib

    from plugmt.errors import exit_with_error

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return
    if args[0] == "--version":
        from plugmt.cli.runtime import print_version

        print_version("plugmt")
        return
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        exit_with_error(f"unknown command {command!r}; {USAGE.removeprefix('usage: ')}")
    module, function = COMMANDS[command].split(":")
    # Each command reads sys.argv as its console script would (Hydra names its runs after argv[0]).
    sys.argv = [f"plugmt-{command}", *rest]
    getattr(importlib.import_module(module), function)()


if __name__ == "__main__":
    main()
