"""Shared encoders. `plugmt.registry` imports every module in this folder before building, so its
`@register_encoder` runs: adding an architecture is one file here. plugmt's own settings live in
`configs.py`, which imports no TensorFlow (nor does this package until a layer is asked for)."""

from typing import Any

__all__ = ["SharedEncoder", "Thought", "ThoughtSpec"]


def __getattr__(name: str) -> Any:
    if name == "SharedEncoder":
        from plugmt.encoders.base import SharedEncoder

        return SharedEncoder
    if name in ("Thought", "ThoughtSpec"):
        import plugmt.thought

        return getattr(plugmt.thought, name)
    raise AttributeError(f"module 'plugmt.encoders' has no attribute {name!r}")
