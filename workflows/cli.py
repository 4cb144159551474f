"""The console scripts: thin Hydra apps over the Python API, one `conf/` tree for all of them."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, exit_with_error, one_line
from plugmt.workflows import settings

log = logging.getLogger("plugmt")
CONFIG_PATH = "pkg://plugmt.conf"


_fail = exit_with_error


_SWEEP_FAILURES: list[str] = []  # this process's failed sweep jobs, reported once the sweep ends


def _in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _user_errors(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A PlugmtError becomes one line on stderr and exit status 2, never a traceback.

    In a `-m` sweep the line goes to the job's log (its plugmt.log) too and the sweep carries on
    with its other jobs (a SystemExit would end it, and an exception would end it in a traceback
    once every job ran); the sweep then ends with one line naming the failed jobs, and exit status 2.
    """

    @functools.wraps(task)
    def wrapped(cfg: Any) -> Any:
        try:
            return task(cfg)
        except PlugmtError as error:
            if not _in_sweep():
                _fail(str(error))
            from hydra.core.hydra_config import HydraConfig

            job = HydraConfig.get().job
            line = f"plugmt: error: {one_line(error)}"
            log.error(line)
            _SWEEP_FAILURES.append(f"#{job.num} ({job.override_dirname or 'defaults'}): {one_line(error)}")
            return None

    return wrapped


def _report_sweep_failures() -> None:
    if _SWEEP_FAILURES:
        failed, shown = len(_SWEEP_FAILURES), _SWEEP_FAILURES[0]
        more = f"; and {failed - 1} more (see each job's plugmt.log)" if failed > 1 else ""
        _SWEEP_FAILURES.clear()
        _fail(f"{failed} job(s) of the sweep failed, the others ran: job {shown}{more}")


def hydra_error_line(error: BaseException) -> str:
    """Hydra's several-line composition errors as one line: what failed, why, and the options."""
    lines = [line.strip() for line in str(error).splitlines()]
    if "Config search path:" in lines:
        lines = lines[: lines.index("Config search path:")]
    head, options = [], []
    for line in lines:
        if not line:
            continue
        if options or line.startswith("Available options"):
            if not line.endswith("_schema"):  # typed schemas are internal, not choices
                options.append(line)
        else:
            head.append(line.rstrip("."))
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        head.insert(1, str(cause).strip().splitlines()[0])  # the why, before Hydra's hint
    text = "; ".join(head)
    if options:
        text += f" ({options[0].rstrip(':')}: {', '.join(options[1:])})"
    return text


# Hydra's own flags: those that take a value, and those that do not.
_FLAGS_WITH_VALUE = {"-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name"}
_FLAGS_WITH_VALUE |= {"-cd", "--config-dir", "--experimental-rerun"}
_FLAGS = {"-m", "--multirun", "--resolve"}
_MOST_COMPOSITIONS = 64


def _override_variants(argv: list[str]) -> list[list[str]] | None:
    """The overrides to compose for a check: one list without sweeps, or (under -m) one list per
    value of each sweep, the other sweeps at their first value. None: leave it all to Hydra (help,
    an unknown flag, a sweep Hydra must expand itself such as glob)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    plain, args = [], iter(argv)
    for arg in args:
        if arg in _FLAGS_WITH_VALUE:
            next(args, None)
        elif arg not in _FLAGS:
            if arg.startswith("-"):
                return None
            plain.append(arg)
    plain = [a for a in plain if not a.lstrip("+~").startswith("hydra")]  # Hydra checks its own
    try:
        parsed = OverridesParser.create().parse_overrides(plain)
        choices = [list(o.sweep_string_iterator()) if o.is_sweep_override() else None for o in parsed]
    except (HydraException, ValueError, TypeError):
        return [plain]  # composing says what is wrong with it, in Hydra's words
    base = [
        f"{o.get_key_element()}={values[0]}" if values else text
        for o, values, text in zip(parsed, choices, plain, strict=True)
    ]
    variants = [base]
    for index, values in enumerate(choices):
        for value in (values or [])[1:]:
            variants.append([*base[:index], f"{parsed[index].get_key_element()}={value}", *base[index + 1 :]])
    return variants[:_MOST_COMPOSITIONS]


def _check_overrides(config_path: str, config_name: str, argv: list[str]) -> None:
    """Compose before Hydra does, so a bad override is one `plugmt: error:` line, exit 2.

    Hydra reports these itself in several lines with exit 1. Under -m (--multirun) each value of a
    sweep is composed once; --cfg and other flags of Hydra's are passed through to it.
    """
    variants = _override_variants(argv)  # None for --help, --info and any flag it does not know
    if variants is None:
        return
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    module = config_path.removeprefix("pkg://")
    try:
        with initialize_config_module(module, version_base="1.3"):
            for overrides in variants:
                compose(config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        _fail(hydra_error_line(error))


def _hydra_app(config_name: str, task: Callable[[Any], Any], config_path: str = CONFIG_PATH) -> None:
    """Run `task` as a Hydra app; the conf/ tree's apps get the architectures' typed schemas."""
    import hydra

    from plugmt.registry import load_architectures
    from plugmt.workflows.runtime import print_version, quiet_tensorflow

    if "--version" in sys.argv[1:]:  # plugmt's, not Hydra's; before TensorFlow starts
        print_version(Path(sys.argv[0]).name)
        return
    quiet_tensorflow()
    logging.getLogger("datasets").setLevel(logging.WARNING)
    if config_path == CONFIG_PATH:
        # Their config schemas must be in the ConfigStore before composing. Not for translate:
        # there `decoder=` is a plain key, and a `decoder` schema group would capture it.
        load_architectures()
    sys.argv[1:] = _accept_plus_experiment(sys.argv[1:])
    _check_overrides(config_path, config_name, sys.argv[1:])
    hydra.main(version_base="1.3", config_path=config_path, config_name=config_name)(_user_errors(task))()
    _report_sweep_failures()


def _store(cfg: Any):
    from plugmt.registry import Store
    from plugmt.workflows.runtime import store_path

    return Store(store_path(cfg.get("store")))


def _translator(
    cfg: Any, beam_size: int, length_penalty: float, adapter: str | None = None, adapter_texts: Any = ()
):
    """The store's encoder named by `encoder_id` (default newest), decoding as configured."""
    from plugmt.workflows.translator import Translator

    return Translator.open(
        _store(cfg),
        cfg.get("encoder_id"),
        bool(cfg.allow_foreign),
        int(beam_size),
        float(length_penalty),
        adapter,
        adapter_texts,
    )


def _output_dir(configured: str | None) -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(configured) if configured else Path(HydraConfig.get().runtime.output_dir)


# --------------------------------------------------------------------------- stages


def _stage_train(cfg: Any) -> None:
    from plugmt.workflows.training import train_joint, train_plugin

    mode = cfg.train.mode
    if mode == "joint":
        train_joint(cfg, _store(cfg))
    elif mode == "plugin":
        train_plugin(cfg, _store(cfg))
    else:
        raise PlugmtError(f"train.mode={mode!r} is not one of: joint, plugin")


def _stage_plugin(cfg: Any) -> None:
    """plugmt-run's plug-in stage: `plugin.train` settings override `train` for this stage only
    (e.g. its own time budget)."""
    from omegaconf import OmegaConf

    from plugmt.workflows.training import train_plugin

    own = cfg.plugin.get("train") or {}
    if own:
        cfg = OmegaConf.merge(cfg, {"train": own})
    train_plugin(cfg, _store(cfg), cfg.plugin.lang, cfg.plugin.pairs)


def _stage_eval(cfg: Any) -> None:
    from plugmt.corpora.corpus import load_corpus
    from plugmt.workflows.evaluation import adapter_sample, zero_shot_matrix
    from plugmt.workflows.report import write_report

    corpus = load_corpus(cfg.data)
    adapter, adapter_texts = cfg.eval.get("adapter"), []
    if adapter:
        if not cfg.allow_foreign:
            raise PlugmtError("eval.adapter maps thoughts for foreign decoders; add allow_foreign=true")
        adapter_texts = adapter_sample(
            corpus, _store(cfg).encoder(cfg.get("encoder_id")), cfg.eval.adapter_items
        )
    translator = _translator(cfg, cfg.eval.beam_size, cfg.eval.length_penalty, adapter, adapter_texts)
    matrix = zero_shot_matrix(
        translator,
        corpus,
        sources=cfg.eval.sources,
        decoders=cfg.eval.decoders,
        split=cfg.eval.split,
        max_items=cfg.eval.max_items,
    )
    out = _output_dir(cfg.eval.out)
    print(write_report(matrix, out), end="")
    if matrix.unconverged():
        log.warning(
            f"WARNING: these modules were stopped by a budget before validation converged: "
            f"{', '.join(matrix.unconverged())}; the matrix may not hold on another seed"
        )
    log.info(f"eval done: {len(matrix.cells)} cells; matrix.json, matrix.md, matrix.png in {out}")


STAGES = {"joint": _stage_train, "plugin": _stage_plugin, "eval": _stage_eval}


def run(cfg: Any) -> None:
    """An experiment's stages in order (default: joint, plugin, eval)."""
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise PlugmtError(f"unknown stage {unknown[0]!r} in stages; known: {', '.join(STAGES)}")
    settings.check_main(cfg, list(cfg.stages))
    for stage in cfg.stages:
        STAGES[stage](cfg)


def train(cfg: Any) -> None:
    settings.check_main(cfg, ["joint"])
    _stage_train(cfg)


def evaluate(cfg: Any) -> None:
    settings.check_main(cfg, ["eval"])
    _stage_eval(cfg)


# --------------------------------------------------------------------------- translate

_TEXT_ARGS: list[str] = []  # the sentences given as arguments (after `--`, or bare)
_SEPARATED: list[bool] = [False]  # whether `--` was given
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
    """plugmt-translate's own settings: the top-level keys of conf/apps/translate.yaml."""
    from omegaconf import OmegaConf

    import plugmt.conf.apps

    keys = OmegaConf.load(Path(plugmt.conf.apps.__file__).parent / "translate.yaml")
    return {str(k) for k in keys} - {"defaults", "hydra"}


def _safe_form(argv: list[str], text: str) -> str:
    """The command as it should have been typed: its other settings, then `--` and the sentence."""
    import shlex

    words = [a for a in argv if a != text and "=" in a and not a.startswith("-") and " " not in a]
    if not any(a.startswith("decoder=") for a in words):
        words.append("decoder=<lang>")
    return " ".join(["plugmt-translate", *map(shlex.quote, words), "--", shlex.quote(text)])


def _split_text_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra overrides and flags stay; sentences go.

    Every argument after the first `--` is a sentence, exactly as given (`a=b`, `-h`, `${x}`, `--`).
    Before it, an argument without `=` that does not start with `-`, `+` or `~` is a sentence too; one
    that looks like a setting or a flag but is not one is refused in one line showing the `--` form.
    """
    texts: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, texts = argv[:cut], list(argv[cut + 1 :])
        _SEPARATED[0] = True
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


def translate(cfg: Any) -> None:
    settings.check_group(cfg, settings.TRANSLATE)
    if cfg.decoder is None:
        raise PlugmtError("name the decoder to plug in: plugmt-translate decoder=<lang or id> ...")
    lines = list(cfg.text) + _TEXT_ARGS
    if cfg.get("input") is not None:
        lines += _input_lines(str(cfg.input))
    elif not lines:
        nothing = PlugmtError(
            "nothing to translate after --; give sentences after it, input=<file>, or lines on stdin"
        )
        if _SEPARATED[0] and sys.stdin.isatty():
            raise nothing
        lines = _decoded_lines(sys.stdin.buffer.read(), "stdin")
        if _SEPARATED[0] and not lines:
            raise nothing
    translator = _translator(cfg, cfg.beam_size, cfg.length_penalty)
    plugged = translator.plug(str(cfg.decoder))
    outputs = plugged.pipeline(lines, int(cfg.batch_size))
    for source, output in zip(lines, outputs, strict=True):
        if cfg.format == "jsonl":
            record = {"source": source, "translation": output, "decoder": plugged.module.id}
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(output)


def export(cfg: Any) -> None:
    from plugmt.workflows.export import export_pair

    settings.check_group(cfg, settings.EXPORT)
    if cfg.decoder is None or cfg.out is None:
        raise PlugmtError(
            "name the decoder and the folder to write: plugmt-export decoder=<lang or id> out=<dir>"
        )
    path = export_pair(
        _store(cfg),
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


# --------------------------------------------------------------------------- console scripts


def _accept_plus_experiment(argv: list[str]) -> list[str]:
    """`+experiment=x` and `experiment=x` both pick an experiment (the defaults list has a slot)."""
    return [a[1:] if a.startswith("+experiment=") else a for a in argv]


def run_main() -> None:
    _hydra_app("config", run)


def train_main() -> None:
    _hydra_app("config", train)


def eval_main() -> None:
    _hydra_app("config", evaluate)


def translate_main() -> None:
    _SEPARATED[0] = False
    try:
        sys.argv[1:], texts = _split_text_arguments(sys.argv[1:])
    except PlugmtError as error:
        _fail(str(error))
    _TEXT_ARGS[:] = texts
    # Its own config folder: there `decoder=es` names a stored decoder, not the `decoder/` group.
    _hydra_app("translate", translate, config_path=f"{CONFIG_PATH}.apps")


def export_main() -> None:
    _hydra_app("export", export, config_path=f"{CONFIG_PATH}.apps")


def registry_main() -> None:
    from plugmt.workflows.registry_cli import main

    main()
