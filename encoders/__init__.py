"""Shared encoders. Every module in this folder is imported so its `@register_encoder` runs:
adding an architecture is one file here and one YAML in `conf/encoder/`."""

import importlib
import pkgutil

from plugmt.encoders.base import SharedEncoder
from plugmt.encoders.thought import Thought, ThoughtSpec

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SharedEncoder", "Thought", "ThoughtSpec"]
