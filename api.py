"""plugmt from Python: train and evaluate as `plugmt-train` and `plugmt-eval` do, with no Hydra config
composed by hand.

    import plugmt

    trained = plugmt.train(store="store", overrides=["experiment=tutorial"])  # joint: encoder + decoders
    plugged = plugmt.train(store="store", mode="plugin", lang="es", pairs=["de-es"])  # one new decoder
    matrix = plugmt.evaluate(store="store", settings={"eval": {"max_items": 50}})
    for cell in matrix.cells:
        print(cell.src, cell.tgt, cell.kind, cell.exact)

Each call composes the config the command would from the same `conf/` tree and overrides
(`cli.hydra_app.compose_config`), sets the keyword arguments and `settings` over it, checks it with
the command's rules (`cli.checks`: a mistake is a PlugmtError with the command's one line) and runs
the command's stage (`cli.apps`). Like the commands, it is a front end: the one module outside
`cli/` that imports `cli/`. Importing it imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugmt.errors import PlugmtError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from plugmt.evaluation.matrix import Matrix
    from plugmt.storage import Store, StoredModule

__all__ = ["Trained", "compose", "evaluate", "train"]


@dataclass
class Trained:
    """What a training stage stored: the encoder and its new decoders (in plug-in mode, the encoder
    the one new decoder was trained against)."""

    store: Store
    encoder: StoredModule
    decoders: list[StoredModule]


def compose(
    store: str | Path | None = None,
    overrides: Sequence[str] = (),
    settings: Mapping[str, Any] | None = None,
) -> DictConfig:
    """The config `plugmt-train` / `plugmt-eval` would see given these `overrides` (Hydra's syntax:
    `"train.epochs=1"`, `"data.pairs=[en-fr]"`, `"encoder=transformer"`, `"experiment=tutorial"`),
    then `settings` (nested, e.g. `{"train": {"epochs": 1}}`) set over it, then `store`."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from plugmt.cli.hydra_app import compose_config
    from plugmt.cli.runtime import quiet_tensorflow
    from plugmt.conf import schemas

    if isinstance(overrides, str):
        raise PlugmtError(f"overrides={overrides!r}: give a list of overrides, e.g. ['train.epochs=1']")
    quiet_tensorflow()
    schemas.register(architectures=True)
    cfg = compose_config("config", overrides)
    given = dict(settings or {})
    if store is not None:
        given["store"] = str(store)
    try:
        return OmegaConf.merge(cfg, given)
    except OmegaConfBaseException as error:
        raise PlugmtError(_setting_line(error, given)) from None


def _setting_line(error: Any, given: Mapping[str, Any]) -> str:
    """A value of `settings` the schema refused, as its key's rule words it (else the schema)."""
    from plugmt.cli.checks import rule_for
    from plugmt.cli.rules import shown

    key = str(getattr(error, "full_key", "") or "")
    value: Any = given
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    rule = rule_for(key) if key else None
    if rule is not None:
        try:
            rule(key, value)
        except PlugmtError as refused:
            return str(refused)
    why = str(error).splitlines()[0]
    return f"{key}={shown(value)}: {why}" if key else f"settings: {why}"


def train(
    store: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    mode: str | None = None,
    lang: str | None = None,
    pairs: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Trained:
    """`plugmt-train`: a shared encoder with one decoder per target of `data.pairs` (mode="joint", the
    default), or one new decoder for `lang` on `pairs` (e.g. ["de-es"]) against the store's encoder,
    kept frozen (mode="plugin"). The keywords are `train.mode`, `decoder.lang` and `data.pairs`."""
    from plugmt.cli import apps
    from plugmt.cli.hydra_app import store_from

    given = _nested(settings, {"train": {"mode": mode}, "decoder": {"lang": lang}, "data": {"pairs": pairs}})
    cfg = compose(store, overrides, given)
    encoder, decoders = apps.train(cfg)  # checked as plugmt-train checks, then trained
    return Trained(store_from(cfg), encoder, list(decoders))


def evaluate(
    store: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    sources: Sequence[str] | None = None,
    decoders: Sequence[str] | None = None,
    out: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Matrix:
    """`plugmt-eval`: the zero-shot matrix of the store's encoder (`encoder_id`, default the newest),
    one `Cell` per source x decoder language (`eval.sources`, `eval.decoders`: default all). Its
    report (matrix.json, .md, .png) is written only when `out` (or `eval.out`) names a folder."""
    from plugmt.cli import apps, checks

    own = {"sources": sources, "decoders": decoders, "out": None if out is None else str(out)}
    cfg = compose(store, overrides, _nested(settings, {"eval": own}))
    checks.check_main(cfg, ["eval"])
    matrix = apps.eval_matrix(cfg)
    if cfg.eval.out:
        from plugmt.evaluation.report import write_report

        write_report(matrix, Path(cfg.eval.out))
    return matrix


def _nested(settings: Mapping[str, Any] | None, keywords: Mapping[str, Mapping[str, Any]]) -> dict:
    """`settings` with the keyword arguments given (not None) set over it."""
    merged = {
        key: dict(value) if isinstance(value, Mapping) else value for key, value in (settings or {}).items()
    }
    for group, values in keywords.items():
        for key, value in values.items():
            if value is not None:
                if isinstance(value, Sequence) and not isinstance(value, str):
                    value = list(value)
                merged.setdefault(group, {})[key] = value
    return merged
