"""The console scripts: thin Hydra apps over the Python API, one `conf/` tree for all of them."""

from __future__ import annotations

import logging
from typing import Any

from plugmt.cli import checks as settings
from plugmt.cli.hydra_app import hydra_app, output_dir, store_from, translator_from
from plugmt.cli.translate import export_main, translate_main
from plugmt.errors import PlugmtError

__all__ = ["eval_main", "export_main", "registry_main", "run_main", "train_main", "translate_main"]

log = logging.getLogger("plugmt")


def _curves(module: Any) -> None:
    """The stage's training curves beside its log in the Hydra run folder: curves-joint.png, or
    curves-plugin-<lang>.png (a failed write is a warning: the modules are stored already)."""
    from hydra.core.hydra_config import HydraConfig

    from plugmt.training.curves import curves_figure

    if not HydraConfig.initialized():  # a stage run from Python (tests, the API): no run folder
        return
    stage = module.meta.get("stage")
    name = "joint" if stage == "joint" else f"plugin-{module.meta.get('lang')}"
    title = f"joint stage · encoder {module.id} and its decoders"
    if stage == "plugin":
        title = f"plug-in stage ({module.meta.get('lang')}) · decoder {module.id}"
    if stage == "student":
        languages = "-".join(module.meta.get("languages", []))
        name, title = f"student-{languages}", f"student stage ({languages}) · encoder {module.id}"
    path = output_dir(None) / f"curves-{name}.png"
    try:
        curves_figure(module.meta, path, title)
    except OSError as error:
        log.warning(f"WARNING: could not write the training curves {path}: {error}")
    else:
        log.info(f"training curves: {path}")


def _stage_train(cfg: Any) -> tuple[Any, list[Any]]:
    """`train.mode`'s stage: the encoder and the decoders it stored (plugin: the encoder it was
    trained against and its one new decoder)."""
    from plugmt.training.stages import train_joint, train_plugin
    from plugmt.training.student import train_student

    mode, store = cfg.train.mode, store_from(cfg)
    if mode == "joint":
        return train_joint(cfg, store)
    if mode == "plugin":
        decoder = train_plugin(cfg, store)
        return store.encoder(decoder.meta["encoder_id"]), [decoder]
    if mode == "student":
        return train_student(cfg, store), []
    raise PlugmtError(f"train.mode={mode!r} is not one of: joint, plugin, student")


def _stage_plugin(cfg: Any) -> None:
    """plugmt-run's plug-in stage: `plugin.train` settings override `train` for this stage only
    (e.g. its own time budget)."""
    from omegaconf import OmegaConf

    from plugmt.training.stages import train_plugin

    own = cfg.plugin.get("train") or {}
    if own:
        cfg = OmegaConf.merge(cfg, {"train": own})
    _curves(train_plugin(cfg, store_from(cfg), cfg.plugin.lang, cfg.plugin.pairs))


def eval_matrix(cfg: Any) -> Any:
    """The zero-shot matrix `eval.*` asks for, of the store's encoder named by `encoder_id`."""
    from plugmt.corpora.corpus import load_corpus
    from plugmt.evaluation.matrix import adapter_sample, zero_shot_matrix

    corpus = load_corpus(cfg.data)
    adapter, adapter_texts = cfg.eval.get("adapter"), None
    if adapter:
        if not cfg.allow_foreign:
            raise PlugmtError("eval.adapter maps thoughts for foreign decoders; add allow_foreign=true")
        adapter_texts = adapter_sample(
            corpus, store_from(cfg).encoder(cfg.get("encoder_id")), cfg.eval.adapter_items
        )
    translator = translator_from(cfg, cfg.eval.beam_size, cfg.eval.length_penalty, adapter, adapter_texts)
    matrix = zero_shot_matrix(
        translator,
        corpus,
        sources=cfg.eval.sources,
        decoders=cfg.eval.decoders,
        split=cfg.eval.split,
        max_items=cfg.eval.max_items,
    )
    if matrix.unconverged():
        log.warning(
            f"WARNING: these modules were stopped by a budget before validation converged: "
            f"{', '.join(matrix.unconverged())}; the matrix may not hold on another seed"
        )
    return matrix


def _stage_eval(cfg: Any) -> None:
    from plugmt.evaluation.report import write_report

    matrix = eval_matrix(cfg)
    out = output_dir(cfg.eval.out)
    print(write_report(matrix, out), end="")
    log.info(f"eval done: {len(matrix.cells)} cells; matrix.json, matrix.md, matrix.png in {out}")


def _stage_train_cli(cfg: Any) -> None:
    """The joint stage (or train.mode's) as the commands run it: trained, then its curves drawn."""
    encoder, decoders = _stage_train(cfg)
    _curves(decoders[0] if cfg.train.mode == "plugin" else encoder)


STAGES = {"joint": _stage_train_cli, "plugin": _stage_plugin, "eval": _stage_eval}


def run(cfg: Any) -> None:
    """An experiment's stages in order (default: joint, plugin, eval)."""
    unknown = [s for s in cfg.stages if s not in STAGES]
    if unknown:
        raise PlugmtError(f"unknown stage {unknown[0]!r} in stages; known: {', '.join(STAGES)}")
    settings.check_main(cfg, list(cfg.stages))
    for stage in cfg.stages:
        STAGES[stage](cfg)


def train(cfg: Any) -> tuple[Any, list[Any]]:
    """plugmt-train's checks and stage: (encoder, decoders) stored (the Python API's `train`)."""
    settings.check_main(cfg, ["joint"])
    return _stage_train(cfg)


def _train_cli(cfg: Any) -> None:
    settings.check_main(cfg, ["joint"])
    _stage_train_cli(cfg)


def evaluate(cfg: Any) -> None:
    settings.check_main(cfg, ["eval"])
    _stage_eval(cfg)


# --------------------------------------------------------------------------- console scripts


def run_main() -> None:
    hydra_app("config", run)


def train_main() -> None:
    hydra_app("config", _train_cli)


def eval_main() -> None:
    hydra_app("config", evaluate)


def registry_main() -> None:
    from plugmt.cli.store_cli import main

    main()
