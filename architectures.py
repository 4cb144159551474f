"""Architectures by name: the registration half of `plugmt.registry` (which re-exports all of it).

`@register_encoder` / `@register_decoder` (one decorator per architecture file) put an architecture
and its config dataclass here and into Hydra's ConfigStore as the option `encoder=<name>` /
`decoder=<name>`. A name registered twice, a class that is not a `SharedEncoder` /
`LanguageDecoder`, or a config that is not a dataclass is refused when its file is imported.
`register_configs` stores plugmt's own settings without importing any layer (no TensorFlow);
`load_architectures` imports the layers, plugmt's and other packages' (entry points).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass

from plugmt.errors import PlugmtError, one_line

ENTRY_POINT_GROUP = "plugmt.architectures"
ROLES = ("encoder", "decoder")


@dataclass(frozen=True)
class Architecture:
    role: str  # "encoder" or "decoder"
    name: str
    cls: type
    config_cls: type


_ARCHITECTURES: dict[str, dict[str, Architecture]] = {"encoder": {}, "decoder": {}}
_LOADED: list[bool] = []
_CONFIGS_STORED: list[bool] = []
_ENTRY_POINTS_LOADED: list[bool] = []


def _base(role: str) -> type:
    if role == "encoder":
        from plugmt.encoders.base import SharedEncoder

        return SharedEncoder
    from plugmt.decoders.base import LanguageDecoder

    return LanguageDecoder


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _register(role: str, name: str, config_cls: type) -> Callable[[type], type]:
    def decorate(cls: type) -> type:
        from hydra.core.config_store import ConfigStore

        base = _base(role)
        where = f"{role} architecture {name!r} ({qualified_name(cls)})"
        if not isinstance(cls, type) or not issubclass(cls, base):
            raise PlugmtError(f"{where} is not a {base.__name__}; subclass {qualified_name(base)}")
        if not dataclasses.is_dataclass(config_cls):
            raise PlugmtError(f"{where}: its config {config_cls!r} is not a dataclass")
        names = {f.name: f.default for f in dataclasses.fields(config_cls)}
        if names.get("name") != name:
            raise PlugmtError(f"{where}: its config's `name` field must default to {name!r}")
        known = _ARCHITECTURES[role].get(name)
        if known and qualified_name(known.cls) != qualified_name(cls):
            raise PlugmtError(
                f"{role} architecture {name!r} is registered twice, by {qualified_name(known.cls)} and "
                f"{qualified_name(cls)}; rename one of them"
            )
        _ARCHITECTURES[role][name] = Architecture(role, name, cls, config_cls)
        # The option `encoder=<name>` itself: no YAML repeats the dataclass's defaults.
        ConfigStore.instance().store(group=role, name=name, node=config_cls)
        return cls

    return decorate


def register_encoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `SharedEncoder` buildable as `encoder=<name>`."""
    return _register("encoder", name, config_cls)


def register_decoder(name: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator: make a `LanguageDecoder` buildable as `decoder=<name>`."""
    return _register("decoder", name, config_cls)


def register_configs() -> None:
    """Every architecture's settings as the Hydra options `encoder=<name>` / `decoder=<name>`, with
    no layer built or imported: plugmt's own come from `encoders/configs.py` and
    `decoders/configs.py` (no TensorFlow, so `--help`, `--cfg` and completion stay fast), other
    packages' from their entry points (which may import what they like)."""
    if _CONFIGS_STORED:
        return
    _CONFIGS_STORED.append(True)
    from hydra.core.config_store import ConfigStore

    from plugmt.decoders.configs import CONFIGS as DECODERS
    from plugmt.encoders.configs import CONFIGS as ENCODERS

    for role, configs in (("encoder", ENCODERS), ("decoder", DECODERS)):
        for config_cls in configs:
            name = {f.name: f.default for f in dataclasses.fields(config_cls)}["name"]
            ConfigStore.instance().store(group=role, name=name, node=config_cls)
    _load_entry_points()


def load_architectures() -> None:
    """Import plugmt's architecture files and every package's ``plugmt.architectures`` entry point,
    so each decorator has run. A package that fails to import is one line naming it."""
    if _LOADED:
        return
    _LOADED.append(True)
    import importlib
    import pkgutil

    import plugmt.decoders
    import plugmt.encoders

    for package in (plugmt.encoders, plugmt.decoders):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    _load_entry_points()


def _load_entry_points() -> None:
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED.append(True)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except PlugmtError:
            raise
        except Exception as error:
            raise PlugmtError(
                f"the architectures of {entry.value!r} (entry point {entry.name!r} in group "
                f"{ENTRY_POINT_GROUP}) failed to import: {one_line(error)}"
            ) from None


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
