"""Every setting a user can give a command, checked before any work starts.

Each config group has its rules here, one per key: a rule refuses a value with one line naming the
key, the value given and what is allowed (`train.batch_size=0: too small (allowed: a whole number
>= 1)`), so a mistake never reaches the code as a traceback or as silent nonsense (an untrained
decoder stored, every translation empty). Types the typed schemas already convert (`train.*`, the
architectures' settings) keep Hydra's own message; this adds the bounds and choices.

Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from plugmt.errors import PlugmtError

Rule = Callable[[str, Any], None]

SPLITS = ("train", "valid", "test")
FORMATS = ("text", "jsonl")
ADAPTERS = ("linear", "orthogonal")
SAFE_TEXT = 'plugmt-translate decoder=<lang> -- "May 5, 2016" "a=b"'


def shown(value: Any) -> str:
    """A value as a user would have typed it on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else "''"
    if isinstance(value, Sequence):
        return "[" + ",".join(shown(v) for v in value) + "]"
    return str(value)


def refuse(key: str, value: Any, why: str, allowed: str) -> None:
    raise PlugmtError(f"{key}={shown(value)}: {why} (allowed: {allowed})")


def _as_whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def whole(minimum: int, null: str | None = None) -> Rule:
    """A whole number >= minimum; with `null`, also null (meaning `null`)."""
    allowed = f"a whole number >= {minimum}" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        number = _as_whole(value)
        if number is None:
            refuse(key, value, "not a whole number", allowed)
        elif number < minimum:
            refuse(key, value, "too small", allowed)

    return rule


def number(
    minimum: float | None = None, above: bool = False, null: str | None = None, example: str = ""
) -> Rule:
    """A finite number; `minimum` is a bound (exclusive with `above`); with `null`, also null."""
    bound = "a finite number" if minimum is None else f"a number {'>' if above else '>='} {minimum:g}"
    allowed = bound
    allowed += f", e.g. {example}" if example else ""
    allowed += f", or null for {null}" if null else ""

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        given = _as_number(value)
        if given is None:
            refuse(key, value, "not a number", allowed)
        elif not math.isfinite(given):
            refuse(key, value, "not a finite number", allowed)
        elif minimum is not None and (given <= minimum if above else given < minimum):
            refuse(key, value, "too small", allowed)

    return rule


def choice(options: Sequence[str], null: str | None = None) -> Rule:
    allowed = ", ".join(options) + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if not isinstance(value, str) or value not in options:
            refuse(key, value, "not one of the choices", allowed)

    return rule


def boolean(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        refuse(key, value, "not true or false", "true, false")


def text(null: str | None = None) -> Rule:
    allowed = "a string" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if not isinstance(value, str) or not value:
            refuse(key, value, "not a name or a path", allowed)

    return rule


def strings(null: str | None = None) -> Rule:
    """A list of strings (languages, ids); with `null`, also null."""
    allowed = "a list such as [en,fr]" + (f", or null for {null}" if null else "")

    def rule(key: str, value: Any) -> None:
        if value is None and null:
            return
        if isinstance(value, str) or not isinstance(value, Sequence):
            refuse(key, value, "not a list", allowed)
        for item in value:
            if not isinstance(item, str) or not item:
                refuse(key, value, f"{shown(item)} is not a name", allowed)

    return rule


def beam_size(key: str, value: Any) -> None:
    """The one rule whose message predates this module (docs/BAD_INPUT.md row 38)."""
    size = _as_whole(value)
    if size is None or size < 1:
        raise PlugmtError(f"{key}={shown(value)}: it must be 1 (greedy) or more")


def encoder_id(key: str, value: Any) -> None:
    """A stored encoder's id (`<architecture>-<12 hex digits>`) or a unique prefix of one: text."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        refuse(
            key,
            value,
            "not an encoder id",
            "a stored encoder's id or a unique prefix of one, such as lstm-0123456789ab "
            "(plugmt-registry list shows them), or null for the newest",
        )


def sentences(key: str, value: Any) -> None:
    """`text=` is a list of sentences; a lone string would be read character by character."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        refuse(
            key,
            value,
            "a single value, not a list of sentences",
            f"a list: 'text=[\"May 5, 2016\"]', or the sentences after --: {SAFE_TEXT}",
        )
    for item in value:
        if not isinstance(item, str):
            refuse(
                key,
                value,
                f"{shown(item)} is not quoted text",
                f"a list of quoted sentences: 'text=[\"{shown(item)}\"]', or after --: {SAFE_TEXT}",
            )


# --------------------------------------------------------------------------- the groups

TRAIN: dict[str, Rule] = {
    "batch_size": whole(1),
    "steps": whole(1, null="train.epochs to decide"),
    "epochs": number(0, above=True, example="0.8"),
    "log_every": whole(1),
    "eval_items": whole(1),
    "learning_rate": number(0, above=True, example="0.01"),
    "clip_norm": number(0, above=True, example="5.0"),
    "align_weight": number(0, example="1.0 (0 = off)"),
    "max_seconds": number(0, above=True, null="no time cap"),
    "checkpoint_every": whole(0),
    "warmup_steps": whole(0),
    "validate_every": whole(0, null="no periodic validation (0 also)"),
    "patience": whole(1, null="never stopping early"),
    "thought_noise": number(0, example="0.2 (0 = off)"),
    "min_delta": number(0, example="0.01"),
    "final_rate": number(0, example="0.1"),
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

# plugmt-translate and plugmt-export (conf/apps/): their top-level keys.
DECODING: dict[str, Rule] = {
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
    "format": choice(FORMATS),
}
EXPORT: dict[str, Rule] = {**DECODING, "out": text(null="(required)"), "overwrite": boolean}


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
    seed = _as_whole(cfg.get("seed"))
    if seed is None or not 0 <= seed < 2**32:
        raise PlugmtError(
            f"seed={cfg.get('seed')}: the seed must be a whole number from 0 to {2**32 - 1}"
            " (e.g. seed=0; several: plugmt-run -m seed=0,1,2)"
        )


def check_architectures(cfg: Any) -> None:
    """encoder.* and decoder.*: the bounds every stored module is held to (store_checks.py)."""
    from plugmt.store_checks import setting_bounds

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
        from plugmt.workflows.trainer import train_settings

        train_settings(cfg)
        check_group(cfg.train, TRAIN, "train.")
        check_group(cfg.data, DATA, "data.")
        check_architectures(cfg)
        own = (cfg.get("plugin") or {}).get("train") or {}
        if "plugin" in stages and own:
            check_group(own, TRAIN, "plugin.train.")
    if "eval" in stages:
        check_group(cfg.eval, EVAL, "eval.")
