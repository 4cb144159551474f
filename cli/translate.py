"""plugmt-translate and plugmt-export: free text is never configuration (sentences after `--`, bare
words Hydra cannot read as settings, stdin, or `input=`), and a stored pair becomes a SavedModel."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from plugmt.cli import checks as settings
from plugmt.cli.hydra_app import APPS_CONFIG_PATH, hydra_app, store_from, translator_from
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
    "--shell-completion",  # install=bash, query=bash, ...
    "-sc",
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


_ONE_A_LINE = "give a UTF-8 text file, one sentence a line"
_CHUNK = 1 << 16  # bytes read at once: memory stays bounded whatever the input's size


def _line(raw: bytes, number: int, where: str) -> str:
    """One UTF-8 line (a leading byte-order mark dropped); a line that is not UTF-8 is named."""
    try:
        line = raw.removesuffix(b"\r").decode("utf-8")
    except UnicodeDecodeError as error:
        raise PlugmtError(
            f"{where} is not valid UTF-8 at line {number} (byte {error.start + 1}); "
            "give UTF-8 text, one sentence a line"
        ) from None
    return line.removeprefix("\ufeff") if number == 1 else line


def read_lines(read: Callable[[int], bytes], where: str) -> Iterator[list[str]]:
    """Lines as they arrive: each read's complete lines at once. A slow writer's line comes out as
    soon as it is written (one read returns what is there), a pipe's many lines come out together."""
    pending, number = b"", 0
    while True:
        chunk = read(_CHUNK)
        if chunk:
            *raws, pending = (pending + chunk).split(b"\n")
        else:
            raws, pending = ([pending] if pending else []), b""
        lines = []
        for raw in raws:
            number += 1
            lines.append(_line(raw, number, where))
        if lines:
            yield lines
        if not chunk:
            return


def _open_input(path: str) -> BinaryIO:
    """An `input=` file, opened and checked whole as UTF-8 before any model loads (a bad line is
    named at once, before anything is translated); read again, in chunks, while translating."""
    try:
        handle = Path(path).expanduser().open("rb")
    except FileNotFoundError:
        raise PlugmtError(f"input={path}: no such file; {_ONE_A_LINE}") from None
    except IsADirectoryError:
        raise PlugmtError(f"input={path} is a folder; {_ONE_A_LINE}") from None
    except OSError as error:
        raise PlugmtError(f"input={path} cannot be read ({error.strerror})") from None
    for _ in read_lines(handle.read, f"input={path}"):
        pass
    handle.seek(0)
    return handle


def _stdin_reader() -> Callable[[int], bytes]:
    """Reads stdin as its bytes arrive (a terminal: a line at a time, after a prompt)."""
    descriptor = sys.stdin.fileno()
    prompt = sys.stdin.isatty()
    if prompt:
        print("plugmt-translate: a sentence a line, Enter to translate it, Ctrl-D to end", file=sys.stderr)

    def read(size: int) -> bytes:
        if prompt:
            print("> ", end="", file=sys.stderr, flush=True)
        return os.read(descriptor, size)

    return read


def translate(cfg: Any, texts: Sequence[str] = (), separated: bool = False) -> None:
    """`texts`: the sentences given as arguments; `separated`: whether `--` was given.

    Sentences from arguments and `text=` first, then `input=` or stdin, translated as they arrive
    (stdin: one line in, one line out, as soon as it is translated; a pipe's lines in batches of
    `batch_size`), each written and flushed at once: memory stays bounded on any input size."""
    settings.check_group(cfg, settings.TRANSLATE)
    if cfg.decoder is None:
        raise PlugmtError("name the decoder to plug in: plugmt-translate decoder=<lang or id> ...")
    given = list(cfg.text) + list(texts)
    nothing = PlugmtError(
        "nothing to translate after --; give sentences after it, input=<file>, or lines on stdin"
    )
    source = None
    if cfg.get("input") is not None:
        source = _open_input(str(cfg.input))
    elif not given and separated and sys.stdin.isatty():
        raise nothing
    translator = translator_from(cfg, cfg.beam_size, cfg.length_penalty)
    if cfg.get("source") is not None:  # the space's encoder that reads it (a student, perhaps)
        member = translator.member(str(cfg.source))
        if member is not translator:  # which one, on stderr: stdout stays the translations
            module = member.encoder_module
            print(
                f"plugmt-translate: source={cfg.source} is read by student encoder {module.id} "
                f"(of {module.meta.get('teacher')})",
                file=sys.stderr,
            )
        translator = member
    plugged = translator.plug(str(cfg.decoder))
    batch_size = int(cfg.batch_size)

    def write(lines: list[str]) -> None:
        for start in range(0, len(lines), batch_size):
            batch = lines[start : start + batch_size]
            for line, output in zip(batch, plugged.pipeline(batch, batch_size), strict=True):
                if cfg.format == "jsonl":
                    record = {"source": line, "translation": output, "decoder": plugged.module.id}
                    print(json.dumps(record, ensure_ascii=False))
                else:
                    print(output)
            sys.stdout.flush()

    write(given)
    if source is not None:
        with source:
            for lines in read_lines(source.read, f"input={cfg.input}"):
                write(lines)
    elif not given:
        count = 0
        for lines in read_lines(_stdin_reader(), "stdin"):
            count += len(lines)
            write(lines)
        if separated and not count:
            raise nothing


def export(cfg: Any) -> None:
    from plugmt.inference.export import INFO_FILE, export_pair

    settings.check_group(cfg, settings.EXPORT)
    if cfg.decoder is None or cfg.out is None:
        raise PlugmtError(
            "name the decoder and the folder to write: plugmt-export decoder=<lang or id> out=<dir>"
        )
    source = cfg.get("source")  # the (student, decoder) pair of the space's encoder reading it
    path = export_pair(
        store_from(cfg),
        str(cfg.decoder),
        str(cfg.out),
        cfg.get("encoder_id"),
        bool(cfg.allow_foreign),
        int(cfg.beam_size),
        float(cfg.length_penalty),
        bool(cfg.overwrite),
        None if source is None else str(source),
    )
    # Where it went on stderr; how to serve it (paste-able Python) on stdout.
    encoder = json.loads((path / INFO_FILE).read_text())["encoder"]["id"]
    print(
        f"plugmt-export: wrote {path} (encoder {encoder}, decoder={cfg.decoder}, beam_size={cfg.beam_size})",
        file=sys.stderr,
    )
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
    hydra_app("translate", task, config_path=APPS_CONFIG_PATH)


def export_main() -> None:
    hydra_app("export", export, config_path=APPS_CONFIG_PATH)
