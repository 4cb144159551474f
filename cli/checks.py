"""Every setting a user can give a command, checked before any work starts.

Each config group has its rules here, one per key: a rule refuses a value with one line naming the
key, the value given and what is allowed (`train.batch_size=0: too small (allowed: a whole number
>= 1)`), so a mistake never reaches the code as a traceback or as silent nonsense (an untrained
decoder stored, every translation empty). Types the typed schemas already convert (`train.*`, the
architectures' settings) keep Hydra's own message; this adds the bounds and choices.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plugmt.cli.rules import (
    Rule,
    as_whole,
    beam_size,
    boolean,
    choice,
    encoder_id,
    number,
    refuse,
    sentences,
    strings,
    text,
    whole,
)
from plugmt.corpora.variants import check_source_variants
from plugmt.encoders.configs import THOUGHT_KINDS
from plugmt.errors import PlugmtError
from plugmt.training.settings import (
    Decay,
    Mode,
    Precision,
    Select,
    Strategy,
    agreement_refusal,
    check_schedule,
    per_slot_refusal,
    slot_diversity_refusal,
)

SPLITS = ("train", "valid", "test")
FORMATS = ("text", "jsonl")
ADAPTERS = ("linear", "orthogonal")


# --------------------------------------------------------------------------- the groups

TRAIN: dict[str, Rule] = {
    "mode": choice(tuple(Mode)),
    "strategy": choice(tuple(Strategy)),
    "select": choice(tuple(Select)),
    "decay": choice(tuple(Decay)),
    "precision": choice(tuple(Precision)),
    "batch_size": whole(1),
    "batch_tokens": whole(1, null="train.batch_size rows per batch"),
    "steps": whole(1, null="train.epochs to decide"),
    "epochs": number(0, above=True, example="0.8"),
    "log_every": whole(1),
    "eval_items": whole(1),
    "learning_rate": number(0, above=True, example="0.01"),
    "clip_norm": number(0, above=True, example="5.0"),
    "align_weight": number(0, example="1.0 (0 = off)"),
    "align_per_slot": boolean,
    "slot_diversity": number(0, example="1.0 (0 = off)"),
    "agreement": number(0, example="1.0 (0 = off)"),
    "source_variants": strings(),
    "variant_rate": number(0, example="0.5"),
    "max_seconds": number(0, above=True, null="no time cap"),
    "checkpoint_every": whole(0),
    "warmup_steps": whole(0),
    "validate_every": whole(0, null="no periodic validation (0 also)"),
    "patience": whole(1, null="never stopping early"),
    "thought_noise": number(0, example="0.2 (0 = off)"),
    "min_delta": number(0, example="0.01"),
    "final_rate": number(0, example="0.1"),
    "average_last": whole(0),
    "student_translation": number(0, example="1.0 (0 = the distance alone)"),
    "label_smoothing": number(0, example="0.1 (0 = off)", below=1.0),
}


def characters(key: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        refuse(key, value, "not a string of characters", "quoted characters, e.g. data.isolate='.,' or ''")


# How vocabularies are cut (corpora/vocab.py); the corpus's own keys are checked where it is built.
DATA: dict[str, Rule] = {
    "vocab_type": choice(("char", "unigram", "bpe")),
    "vocab_size": whole(1),
    "source_vocab_size": whole(1, null="data.vocab_size"),
    "split_digits": boolean,
    "isolate": characters,
}

EVAL: dict[str, Rule] = {
    "sources": strings(null="every language the encoder reads"),
    "decoders": strings(null="every stored decoder language"),
    "split": choice(SPLITS),
    "beam_size": beam_size,
    "length_penalty": number(example="0.6"),
    "max_items": whole(1, null="the whole split"),
    "out": text(null="the run folder"),
    "adapter": choice(ADAPTERS, null="none"),
    "adapter_items": whole(1),
}

# plugmt-translate and plugmt-export (cli/conf/): their top-level keys.
DECODING: dict[str, Rule] = {
    "source": text(null="the encoder's own languages"),
    "store": text(),
    "encoder_id": encoder_id,
    "allow_foreign": boolean,
    "beam_size": beam_size,
    "length_penalty": number(example="0.6"),
}
TRANSLATE: dict[str, Rule] = {
    **DECODING,
    "text": sentences,
    "input": text(null="none (sentences after -- or on stdin)"),
    "batch_size": whole(1),
    "batch_tokens": whole(1, null="train.batch_size rows per batch"),
    "format": choice(FORMATS),
}
EXPORT: dict[str, Rule] = {**DECODING, "out": text(null="(required)"), "overwrite": boolean}


def rule_for(key: str, app: str = "config") -> Rule | None:
    """The rule of a full key (`train.batch_size`, `plugin.train.epochs`, `beam_size` of
    plugmt-translate) in the app composing `app` (config, translate, export), if it has one."""
    groups = {"train": TRAIN, "eval": EVAL, "data": DATA}
    head, _, rest = key.partition(".")
    if head == "plugin" and rest.startswith("train."):
        return TRAIN.get(rest.removeprefix("train."))
    if rest:
        return groups.get(head, {}).get(rest)
    top = {"translate": TRANSLATE, "export": EXPORT}.get(app, {"store": text(), "encoder_id": encoder_id})
    return top.get(key)


def check_group(settings: Mapping[str, Any], rules: Mapping[str, Rule], prefix: str = "") -> None:
    """Every key of `settings` that has a rule, checked; the first failure raised (one line)."""
    for key, rule in rules.items():
        if key in settings:
            rule(f"{prefix}{key}", _plain(settings[key]))


def _plain(value: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, ListConfig | DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def check_seed(cfg: Any) -> None:
    """The seed is a whole number numpy accepts (seed=7, also seed=7.0)."""
    seed = as_whole(cfg.get("seed"))
    if seed is None or not 0 <= seed < 2**32:
        raise PlugmtError(
            f"seed={cfg.get('seed')}: the seed must be a whole number from 0 to {2**32 - 1}"
            " (e.g. seed=0; several: plugmt-run -m seed=0,1,2)"
        )


def check_architectures(cfg: Any) -> None:
    """encoder.* and decoder.*: the bounds every stored module is held to (store_checks.py)."""
    from plugmt.storage.checks import setting_bounds

    for group in ("encoder", "decoder"):
        for field, value in (_plain(cfg.get(group)) or {}).items():
            allowed = setting_bounds(field, value)
            if allowed:
                refuse(f"{group}.{field}", value, "out of range", allowed)


def check_main(cfg: Any, stages: Sequence[str] = ()) -> None:
    """plugmt-run / -train / -eval: the top-level keys, train.* (and plugin.train.*), eval.*."""
    check_seed(cfg)
    check_group(cfg, {"store": text(), "encoder_id": encoder_id, "allow_foreign": boolean})
    if "joint" in stages or "plugin" in stages:
        # The typed schema first: a value of the wrong type keeps its message (row 6 of BAD_INPUT.md).
        from plugmt.training.settings import train_settings

        train_settings(cfg)
        check_group(cfg.train, TRAIN, "train.")
        check_schedule(cfg.train.get("decay"), as_whole(cfg.train.get("warmup_steps") or 0) or 0)
        check_group(cfg.data, DATA, "data.")
        check_architectures(cfg)
        encoder = (cfg.get("encoder") or {}).get("name")
        # Only plugmt's own encoders are known here; another package's is refused by the kind of
        # thought it makes, when the joint stage builds it (training/step.py).
        kind = THOUGHT_KINDS.get(str(encoder))  # None: not one of plugmt's own
        if (
            "joint" in stages
            and _plain(cfg.train.get("align_per_slot")) is True
            and kind not in (None, "slots")
        ):
            raise PlugmtError(per_slot_refusal(f"encoder={encoder}"))
        # train_settings above has checked its type
        if "joint" in stages and (cfg.train.get("slot_diversity") or 0) > 0 and kind not in (None, "slots"):
            raise PlugmtError(slot_diversity_refusal(f"encoder={encoder}"))
        strategy = str(_plain(cfg.train.get("strategy")) or "none")
        if "joint" in stages and (cfg.train.get("agreement") or 0) > 0 and strategy != "none":
            raise PlugmtError(agreement_refusal(strategy))
        variants = _plain(cfg.train.get("source_variants")) or []
        check_source_variants(variants, _plain(cfg.train.get("variant_rate")), _plain(cfg.data))
        own = (cfg.get("plugin") or {}).get("train") or {}
        if "plugin" in stages and own:
            check_group(own, TRAIN, "plugin.train.")
            both = {**_plain(cfg.train), **_plain(own)}
            check_schedule(both.get("decay"), as_whole(both.get("warmup_steps") or 0) or 0, "plugin.train.")
    if "eval" in stages:
        check_group(cfg.eval, EVAL, "eval.")
