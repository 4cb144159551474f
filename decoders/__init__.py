"""Language decoders. `plugmt.registry` imports every module in this folder before building, so
its `@register_decoder` runs: adding an architecture is one file here. plugmt's own settings live in
`configs.py`, which imports no TensorFlow (nor does this package until a layer is asked for)."""

from typing import Any

__all__ = ["LanguageDecoder"]


def __getattr__(name: str) -> Any:
    if name == "LanguageDecoder":
        from plugmt.decoders.base import LanguageDecoder

        return LanguageDecoder
    raise AttributeError(f"module 'plugmt.decoders' has no attribute {name!r}")
