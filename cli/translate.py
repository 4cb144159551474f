"""plugmt-translate and plugmt-export: free text is never configuration (sentences after `--`, bare
words Hydra cannot read as settings, stdin, or `input=`), and a stored pair becomes a SavedModel."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plugmt.cli import checks as settings
from plugmt.cli.hydra_app import CONFIG_PATH, hydra_app, store_from, translator_from
from plugmt.errors import PlugmtError, exit_with_error

_FLAGS_WITH_VALUE = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--info",
    "-i",
    "--experimental-rerun",
}
_FLAGS = {
    *_FLAGS_WITH_VALUE,
    "--help",
    "-h",
    "--hydra-help",
    "--version",
    "--multirun",
    "-m",
    "--run",
    "-r",
    "--resolve",
    "--shell-completion",
    "-sc",
}


def _translate_keys() -> set[str]:
    """plugmt-translate's own settings: the fields of its schema."""
    import dataclasses

    from plugmt.conf.schemas import TranslateSettings

    return {f.name for f in dataclasses.fields(TranslateSettings)}


def _safe_form(argv: list[str], text: str) -> str:
    """The command as it should have been typed: its other settings, then `--` and the sentence."""
    import shlex

    words = [a for a in argv if a != text and "=" in a and not a.startswith("-") and " " not in a]
    if not any(a.startswith("decoder=") for a in words):
        words.append("decoder=<lang>")
    return " ".join(["plugmt-translate", *map(shlex.quote, words), "--", shlex.quote(text)])


def split_text_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra overrides and flags stay; sentences go.

    Every argument after the first `--` is a sentence, exactly as given (`a=b`, `-h`, `${x}`, `--`).
    Before it, an argument without `=` that does not start with `-`, `+` or `~` is a sentence too; one
    that looks like a setting or a flag but is not one is refused in one line showing the `--` form.
    """
    texts: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, texts = argv[:cut], list(argv[cut + 1 :])
    hydra_args, bare = [], []
    known: set[str] | None = None
    expect_value = False
    for arg in argv:
        if expect_value:
            hydra_args.append(arg)
            expect_value = False
        elif arg.startswith("-"):
            flag = arg.split("=", 1)[0] if arg.startswith("--") else arg
            if flag not in _FLAGS:
                raise PlugmtError(
                    f"{arg!r} is not an option of plugmt-translate; to translate text that starts "
                    f"with -, put it after --: {_safe_form(argv, arg)}"
                )
            hydra_args.append(arg)
            expect_value = arg in _FLAGS_WITH_VALUE
        elif "=" in arg or arg[:1] in ("+", "~"):
            from hydra.core.override_parser.overrides_parser import OverridesParser
            from hydra.errors import HydraException

            try:
                override = OverridesParser.create().parse_override(arg)
            except HydraException:
                raise PlugmtError(
                    f"{arg!r} is not a setting (key=value) Hydra can read; to translate it, put "
                    f"sentences after --: {_safe_form(argv, arg)}"
                ) from None
            known = _translate_keys() if known is None else known
            key = override.key_or_group
            if override.type.name == "CHANGE" and key.split(".")[0] not in {*known, "hydra"}:
                raise PlugmtError(
                    f"{key!r} is not a plugmt-translate setting (settings: {', '.join(sorted(known))}); "
                    f"to translate {arg!r}, put it after --: {_safe_form(argv, arg)}"
                )
            hydra_args.append(arg)
        else:
            bare.append(arg)
    return hydra_args, bare + texts


def _decoded_lines(data: bytes, where: str) -> list[str]:
    """UTF-8 lines (a leading byte-order mark dropped); the first line that is not UTF-8 is named."""
    lines = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PlugmtError(
                f"{where} is not valid UTF-8 at line {number} (byte {error.start + 1}); "
                "give UTF-8 text, one sentence a line"
            ) from None
        lines.append(line.removeprefix("\ufeff") if number == 1 else line)
    return lines


_ONE_A_LINE = "give a UTF-8 text file, one sentence a line"


def _input_lines(path: str) -> list[str]:
    """The sentences of an `input=` file, one a line."""
    try:
        data = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise PlugmtError(f"input={path}: no such file; {_ONE_A_LINE}") from None
    except IsADirectoryError:
        raise PlugmtError(f"input={path} is a folder; {_ONE_A_LINE}") from None
    except OSError as error:
        raise PlugmtError(f"input={path} cannot be read ({error.strerror})") from None
    return _decoded_lines(data, f"input={path}")


def translate(cfg: Any, texts: Sequence[str] = (), separated: bool = False) -> None:
    """`texts`: the sentences given as arguments; `separated`: whether `--` was given."""
    settings.check_group(cfg, settings.TRANSLATE)
    if cfg.decoder is None:
        raise PlugmtError("name the decoder to plug in: plugmt-translate decoder=<lang or id> ...")
    lines = list(cfg.text) + list(texts)
    if cfg.get("input") is not None:
        lines += _input_lines(str(cfg.input))
    elif not lines:
        nothing = PlugmtError(
            "nothing to translate after --; give sentences after it, input=<file>, or lines on stdin"
        )
        if separated and sys.stdin.isatty():
            raise nothing
        lines = _decoded_lines(sys.stdin.buffer.read(), "stdin")
        if separated and not lines:
            raise nothing
    translator = translator_from(cfg, cfg.beam_size, cfg.length_penalty)
    plugged = translator.plug(str(cfg.decoder))
    outputs = plugged.pipeline(lines, int(cfg.batch_size))
    for source, output in zip(lines, outputs, strict=True):
        if cfg.format == "jsonl":
            record = {"source": source, "translation": output, "decoder": plugged.module.id}
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(output)


def export(cfg: Any) -> None:
    from plugmt.inference.export import export_pair

    settings.check_group(cfg, settings.EXPORT)
    if cfg.decoder is None or cfg.out is None:
        raise PlugmtError(
            "name the decoder and the folder to write: plugmt-export decoder=<lang or id> out=<dir>"
        )
    path = export_pair(
        store_from(cfg),
        str(cfg.decoder),
        str(cfg.out),
        cfg.get("encoder_id"),
        bool(cfg.allow_foreign),
        int(cfg.beam_size),
        float(cfg.length_penalty),
        bool(cfg.overwrite),
    )
    # Where it went on stderr; how to serve it (paste-able Python) on stdout.
    print(f"plugmt-export: wrote {path} (decoder={cfg.decoder}, beam_size={cfg.beam_size})", file=sys.stderr)
    print(
        f"import tensorflow as tf, tensorflow_text\n"
        f"translate = tf.saved_model.load({str(path)!r}).signatures['serving_default']\n"
        f"print(translate(text=tf.constant(['...']))['translation'])"
    )


def translate_main() -> None:
    separated = "--" in sys.argv[1:]
    try:
        sys.argv[1:], texts = split_text_arguments(sys.argv[1:])
    except PlugmtError as error:
        exit_with_error(str(error))

    def task(cfg: Any) -> None:
        translate(cfg, texts, separated)

    # Its own config folder: there `decoder=es` names a stored decoder, not the `decoder/` group.
    hydra_app("translate", task, config_path=f"{CONFIG_PATH}.apps")


def export_main() -> None:
    hydra_app("export", export, config_path=f"{CONFIG_PATH}.apps")
