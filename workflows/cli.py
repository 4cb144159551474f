"""The console scripts: thin Hydra apps over the Python API, one `conf/` tree for all of them."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plugmt.errors import PlugmtError, exit_with_error

log = logging.getLogger("plugmt")
CONFIG_PATH = "pkg://plugmt.conf"


_fail = exit_with_error


def _user_errors(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A PlugmtError becomes one line on stderr and exit status 2, never a traceback."""

    @functools.wraps(task)
    def wrapped(cfg: Any) -> Any:
        try:
            return task(cfg)
        except PlugmtError as error:
            _fail(str(error))

    return wrapped


def _check_seed(cfg: Any) -> None:
    """The seed is a whole number numpy accepts (seed=7, also seed=7.0); checked before any work."""
    seed = cfg.get("seed")
    if (isinstance(seed, float) and seed.is_integer()) or (isinstance(seed, str) and seed.strip().isdigit()):
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise PlugmtError(
            f"seed={cfg.get('seed')}: the seed must be a whole number from 0 to {2**32 - 1}"
            " (e.g. seed=0; several: plugmt-run -m seed=0,1,2)"
        )


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


def _check_overrides(config_path: str, config_name: str, argv: list[str]) -> None:
    """Compose once before Hydra does, so a bad override is one `plugmt: error:` line, exit 2.

    Hydra reports these itself in several lines with exit 1; flags (--multirun, --cfg, ...) are
    left to Hydra.
    """
    if any(arg.startswith("-") for arg in argv):
        return
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    module = config_path.removeprefix("pkg://")
    try:
        with initialize_config_module(module, version_base="1.3"):
            compose(config_name, overrides=argv)
    except (HydraException, OmegaConfBaseException) as error:
        _fail(hydra_error_line(error))


def _hydra_app(config_name: str, task: Callable[[Any], Any], config_path: str = CONFIG_PATH) -> None:
    """Run `task` as a Hydra app; the conf/ tree's apps get the architectures' typed schemas."""
    import hydra

    from plugmt.registry import load_architectures
    from plugmt.workflows.runtime import quiet_tensorflow

    quiet_tensorflow()
    logging.getLogger("datasets").setLevel(logging.WARNING)
    if config_path == CONFIG_PATH:
        # Their config schemas must be in the ConfigStore before composing. Not for translate:
        # there `decoder=` is a plain key, and a `decoder` schema group would capture it.
        load_architectures()
    sys.argv[1:] = _accept_plus_experiment(sys.argv[1:])
    _check_overrides(config_path, config_name, sys.argv[1:])
    hydra.main(version_base="1.3", config_path=config_path, config_name=config_name)(_user_errors(task))()


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
    _check_seed(cfg)
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise PlugmtError(f"unknown stage {unknown[0]!r} in stages; known: {', '.join(STAGES)}")
    for stage in cfg.stages:
        STAGES[stage](cfg)


def train(cfg: Any) -> None:
    _check_seed(cfg)
    _stage_train(cfg)


def evaluate(cfg: Any) -> None:
    _check_seed(cfg)
    _stage_eval(cfg)


# --------------------------------------------------------------------------- translate

_TEXT_ARGS: list[str] = []
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


def _split_text_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra overrides and flags stay; any other argument is a sentence to translate."""
    hydra_args, texts = [], []
    expect_value = False
    for arg in argv:
        if expect_value or "=" in arg or (arg and arg[0] in "-+~"):
            hydra_args.append(arg)
            expect_value = arg in _FLAGS_WITH_VALUE
        else:
            texts.append(arg)
    return hydra_args, texts


def translate(cfg: Any) -> None:
    if cfg.decoder is None:
        raise PlugmtError("name the decoder to plug in: plugmt-translate decoder=<lang or id> ...")
    lines = list(cfg.text) + _TEXT_ARGS
    if not lines:
        lines = [line.rstrip("\n") for line in sys.stdin]
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
    sys.argv[1:], texts = _split_text_arguments(sys.argv[1:])
    _TEXT_ARGS[:] = texts
    # Its own config folder: there `decoder=es` names a stored decoder, not the `decoder/` group.
    _hydra_app("translate", translate, config_path=f"{CONFIG_PATH}.apps")


def export_main() -> None:
    _hydra_app("export", export, config_path=f"{CONFIG_PATH}.apps")


def registry_main() -> None:
    from plugmt.workflows.registry_cli import main

    main()
