"""Architectures by name: what can be built, and the one way a stored module becomes layers.

`@register_encoder` / `@register_decoder` (one decorator per architecture file; the registration
half lives in `plugmt.architectures` and is re-exported here) put an architecture and its config
dataclass into the registry and into Hydra's ConfigStore as the option `encoder=<name>` /
`decoder=<name>`, so the dataclass is the one source of its settings and a typo in an override fails
when the config is composed. A name registered twice, a class that is not a `SharedEncoder` /
`LanguageDecoder`, or a config that is not a dataclass is refused when its file is imported.

Architectures of other packages register themselves the same way: a package names the module that
holds its decorated classes in the entry-point group ``plugmt.architectures`` and plugmt imports it
with its own (README, "Adding an architecture").

What has been trained lives in `plugmt.storage`, which holds bytes and metadata only; `load_encoder` /
`load_decoder` here turn a checked stored module into layers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from plugmt.architectures import (
    ENTRY_POINT_GROUP,
    Architecture,
    architecture,
    load_architectures,
    qualified_name,
    register_configs,
    register_decoder,
    register_encoder,
    registered,
)
from plugmt.errors import PlugmtError
from plugmt.storage import Store, StoredModule
from plugmt.storage.weights import assign_weights
from plugmt.thought import Thought, ThoughtSpec

if TYPE_CHECKING:
    from plugmt.corpora.vocab import Vocab
    from plugmt.decoders.base import LanguageDecoder
    from plugmt.encoders.base import SharedEncoder

__all__ = [
    "ENTRY_POINT_GROUP",
    "Architecture",
    "architecture",
    "build_decoder",
    "build_encoder",
    "check_stored_architecture",
    "load_architectures",
    "load_decoder",
    "load_encoder",
    "register_configs",
    "register_decoder",
    "register_encoder",
    "registered",
    "typed_config",
]


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


# --------------------------------------------------------------------------- building


def build_encoder(settings: Mapping[str, Any], vocab_size: int) -> SharedEncoder:
    config = typed_config("encoder", settings)
    encoder = architecture("encoder", config.name).cls(config, vocab_size)
    encoder.build_weights()
    return encoder


def build_decoder(settings: Mapping[str, Any], vocab_size: int, thought: ThoughtSpec) -> LanguageDecoder:
    """A decoder for `thought`; refused in plain words if it cannot read it."""
    config = typed_config("decoder", settings)
    cls = architecture("decoder", config.name).cls
    reason = cls.refusal(config, thought)
    if reason:
        raise PlugmtError(f"decoder architecture {config.name!r} {reason}")
    decoder = cls(config, vocab_size, thought)
    decoder.build_weights(_dummy_thought(thought))
    return decoder


def _dummy_thought(spec: ThoughtSpec) -> Thought:
    import tensorflow as tf

    vector = tf.zeros((1, spec.width))
    if spec.kind == "vector":
        return Thought(kind="vector", states=(vector, vector))
    memory = tf.zeros((1, 1, spec.width))
    mask = tf.ones((1, 1), dtype=tf.bool) if spec.kind == "memory" else None
    return Thought(kind=spec.kind, memory=memory, mask=mask)


# --------------------------------------------------------------------------- stored modules


def _built(store: Store, module: StoredModule, build: Callable[[], Any]) -> Any:
    """The layer `build()` makes from a module's checked config; a config the architecture does not
    accept is named as the module's damage, never a traceback."""
    try:
        return build()
    except PlugmtError as error:
        store.failure(module.key)("config.json", f"is not one its architecture accepts ({error})")


def load_encoder(store: Store, module: StoredModule) -> tuple[SharedEncoder, Vocab]:
    """(encoder layer, its Vocab): the whole module checked by the store, then built and loaded."""
    from plugmt.corpora.vocab import Vocab

    config, contents = store.checked(module)
    encoder = _built(store, module, lambda: build_encoder(config["settings"], config["vocab_size"]))
    assign_weights(encoder, contents["weights.npz"], module.where("weights.npz"))
    return encoder, Vocab(contents["vocab.model"])


def load_decoder(store: Store, module: StoredModule, thought: ThoughtSpec) -> tuple[LanguageDecoder, Vocab]:
    """(decoder layer, its Vocab) for an encoder emitting `thought`."""
    from plugmt.corpora.vocab import Vocab

    config, contents = store.checked(module)
    trained_for = ThoughtSpec.from_json(config["thought"])
    if trained_for != thought:
        raise PlugmtError(
            f"decoder {module.id} reads {trained_for.kind} thoughts of width {trained_for.width}, "
            f"this encoder emits {thought.kind} thoughts of width {thought.width}"
        )
    decoder = _built(store, module, lambda: build_decoder(config["settings"], config["vocab_size"], thought))
    assign_weights(decoder, contents["weights.npz"], module.where("weights.npz"))
    return decoder, Vocab(contents["vocab.model"])


def check_stored_architecture(
    kind: str, config: Mapping[str, Any], meta: Mapping[str, Any], manifest: Mapping[str, Any], where: str
) -> None:
    """A module to import names a registered architecture with settings it accepts, and no other
    `_target_` anywhere (the check `store.bundles.import_bundle` is given)."""
    known = registered(kind)
    name = config.get("architecture")
    settings = config.get("settings")
    if name not in known or not isinstance(settings, dict) or settings.get("name") != name:
        raise PlugmtError(
            f"{where}: config names {kind} architecture {name!r}, not a registered plugmt one "
            f"({', '.join(sorted(known))}); refused"
        )
    everything = [*registered("encoder").values(), *registered("decoder").values()]
    allowed = {qualified_name(a.cls) for a in everything}
    for document in (config, meta, manifest):
        for target in _targets(document):
            if target not in allowed:
                raise PlugmtError(f"{where}: _target_ {target!r} is not a registered plugmt architecture")
    try:
        typed_config(kind, settings)
    except PlugmtError as error:
        raise PlugmtError(f"{where}: {error}") from None


def _targets(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "_target_":
                yield str(item)
            yield from _targets(item)
    elif isinstance(value, list):
        for item in value:
            yield from _targets(item)
