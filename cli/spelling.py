"""Override spellings a user should not have to know: which of `key=`, `+key=` and `++key=` Hydra
wants depends on whether the chosen preset already holds the key, so plugmt accepts all of them for
the keys where that is an accident of the preset rather than a mistake."""

from __future__ import annotations

import difflib
from dataclasses import fields

from plugmt.errors import PlugmtError


def respell(argv: list[str]) -> list[str]:
    """The overrides as Hydra wants them spelled (both rewrites below); PlugmtError for a
    `plugin.train` key that is not a train setting."""
    return accept_plugin_train(accept_plus_experiment(argv))


def accept_plus_experiment(argv: list[str]) -> list[str]:
    """`+experiment=x` and `experiment=x` both pick an experiment (the defaults list has a slot)."""
    return [a[1:] if a.startswith("+experiment=") else a for a in argv]


def accept_plugin_train(argv: list[str]) -> list[str]:
    """`plugin.train.<key>` takes any `train.*` key, with or without `+`, whichever keys the preset
    sets (Hydra alone refuses `plugin.train.steps=4` where the preset lacks it and `+plugin.train.steps=4`
    where it has it). A key that is not a train setting is refused in one line with the nearest one."""
    from plugmt.training.settings import TrainSettings

    known = [f.name for f in fields(TrainSettings)]
    spelled = []
    for arg in argv:
        key, equals, value = arg.lstrip("+").partition("=")
        parts = key.split(".")
        if not equals or len(parts) != 3 or parts[:2] != ["plugin", "train"]:
            spelled.append(arg)
            continue
        if parts[2] not in known:
            near = difflib.get_close_matches(parts[2], known, n=1)
            hint = f"did you mean plugin.train.{near[0]}?" if near else "see train.* in README.md"
            raise PlugmtError(f"{key}: not a train setting ({hint} plugin.train takes any train.* key)")
        spelled.append(f"++{key}={value}")
    return spelled
