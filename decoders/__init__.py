"""Language decoders. Every module in this folder is imported so its `@register_decoder` runs:
adding an architecture is one file here (its config dataclass is the option `decoder=<name>`)."""

import importlib
import pkgutil

from plugmt.decoders.base import LanguageDecoder

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["LanguageDecoder"]
