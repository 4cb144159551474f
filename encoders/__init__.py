"""Shared encoders. Every module in this folder is imported so its `@register_encoder` runs:
adding an architecture is one file here (its config dataclass is the option `encoder=<name>`)."""

import importlib
import pkgutil

from plugmt.encoders.base import SharedEncoder
from plugmt.thought import Thought, ThoughtSpec

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SharedEncoder", "Thought", "ThoughtSpec"]
