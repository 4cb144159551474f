"""plugmt: one shared encoder, pluggable language decoders, and a store that knows which fit.

The Python API mirrors the commands::

    from plugmt import Translator
    translator = Translator.open("store")            # newest encoder in the store
    translator.translate(["May 5, 2026"], decoder="es")
"""

from plugmt.errors import PlugmtError

__all__ = ["PlugmtError", "Translator"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Imported lazily: `import plugmt` must not pay for TensorFlow's start-up.
    if name == "Translator":
        from plugmt.inference.translator import Translator

        return Translator
    raise AttributeError(f"module 'plugmt' has no attribute {name!r}")
