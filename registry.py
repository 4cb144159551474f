"""Architectures by name, and (re-exported from `plugmt.store`) the store of trained modules.

Two registries answer the same question from two ends: *what can be built* (`@register_encoder` /
`@register_decoder`, one decorator per architecture file, each also putting its config dataclass into
Hydra's ConfigStore so typos fail at override time), here, and *what has been trained* (`Store`:
encoders and language decoders saved as separate folders), in `store.py`, with bundles for moving
modules between stores in `bundles.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plugmt.errors import PlugmtError
from plugmt.store import Store, StoredModule
from plugmt.weights import fingerprint, weight_arrays

__all__ = [
    "Architecture",
    "Store",
    "StoredModule",
    "architecture",
    "build_decoder",
    "build_encoder",
    "fingerprint",
    "load_architectures",
    "register_decoder",
    "register_encoder",
    "registered",
    "typed_config",
    "weight_arrays",
]

# --------------------------------------------------------------------------- architectures


@dataclass(frozen=True)
class Architecture:
    role: str  # "encoder" or "decoder"
    name: str
    cls: type
    config_cls: type


_ARCHITECTURES: dict[str, dict[str, Architecture]] = {"encoder": {}, "decoder": {}}


def _register(role: str, name: str, config_cls: type) -> Callable[[type], type]:
    def decorate(cls: type) -> type:
        from hydra.core.config_store import ConfigStore

        _ARCHITECTURES[role][name] = Architecture(role, name, cls, config_cls)
        # conf/<role>/<name>.yaml lists `<name>_schema` first in its defaults: Hydra then checks
        # every override of that group against this dataclass.
        ConfigStore.instance().store(group=role, name=f"{name}_schema", node=config_cls)
        return cls

    return decorate


def register_encoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `SharedEncoder` buildable as `encoder=<name>`."""
    return _register("encoder", name, config_cls)


def register_decoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `LanguageDecoder` buildable as `decoder=<name>`."""
    return _register("decoder", name, config_cls)


def load_architectures() -> None:
    """Import every architecture file so its decorator has run."""
    import plugmt.decoders
    import plugmt.encoders  # noqa: F401


def registered(role: str) -> dict[str, Architecture]:
    """Every architecture of `role` ("encoder" or "decoder") this plugmt can build, by name."""
    load_architectures()
    return dict(_ARCHITECTURES[role])


def architecture(role: str, name: str) -> Architecture:
    load_architectures()
    known = _ARCHITECTURES[role]
    if name not in known:
        raise PlugmtError(f"unknown {role} architecture {name!r}; registered: {', '.join(sorted(known))}")
    return known[name]


def typed_config(role: str, settings: Mapping[str, Any]) -> Any:
    """Settings (a dict or DictConfig with `name`) as the architecture's config dataclass.

    A plain dict (stored or imported settings) is data: a string in it holding an OmegaConf
    expression (``${...}``) is refused, never resolved. A value of the wrong type is one line.
    """
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not isinstance(settings, DictConfig):
        for key, value in settings.items():
            if isinstance(value, str) and "${" in value:
                # The value is not repeated: it may name a secret.
                raise PlugmtError(f"{role} setting {key!r} holds an OmegaConf expression; settings are data")
    if "name" not in settings:
        raise PlugmtError(f"{role} settings name no architecture (`name`)")
    arch = architecture(role, str(settings["name"]))
    fields = {f.name for f in dataclasses.fields(arch.config_cls)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise PlugmtError(
            f"{role} {arch.name!r} has no setting {unknown[0]!r}; its settings: {', '.join(sorted(fields))}"
        )
    try:
        merged = OmegaConf.merge(OmegaConf.structured(arch.config_cls), dict(settings))
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlugmtError(f"{role} {arch.name!r} settings are not valid: {why}") from None


def build_encoder(settings: Mapping[str, Any], vocab_size: int) -> Any:
    config = typed_config("encoder", settings)
    encoder = architecture("encoder", config.name).cls(config, vocab_size)
    encoder.build_weights()
    return encoder


def build_decoder(settings: Mapping[str, Any], vocab_size: int, thought: Any) -> Any:
    """A decoder for `thought` (a ThoughtSpec); refused in plain words if it cannot read it."""
    from plugmt.encoders.thought import Thought

    config = typed_config("decoder", settings)
    cls = architecture("decoder", config.name).cls
    reason = cls.refusal(config, thought)
    if reason:
        raise PlugmtError(f"decoder architecture {config.name!r} {reason}")
    decoder = cls(config, vocab_size, thought)
    decoder.build_weights(_dummy_thought(Thought, thought))
    return decoder


def _dummy_thought(thought_cls: type, spec: Any) -> Any:
    import tensorflow as tf

    vector = tf.zeros((1, spec.width))
    if spec.kind == "vector":
        return thought_cls(kind="vector", states=(vector, vector))
    memory = tf.zeros((1, 1, spec.width))
    mask = tf.ones((1, 1), dtype=tf.bool) if spec.kind == "memory" else None
    return thought_cls(kind=spec.kind, memory=memory, mask=mask)
