"""plugmt: one shared encoder, pluggable language decoders, and a store that knows which fit.

The Python API mirrors the commands (README.md, "Python API")::

    import plugmt
    plugmt.train(store="store", overrides=["experiment=tutorial"])   # plugmt-train
    matrix = plugmt.evaluate(store="store")                           # plugmt-eval
    translator = plugmt.Translator.open("store")                      # newest encoder in the store
    translator.translate("May 5, 2026", decoder="es", beam_size=4)    # plugmt-translate
"""

from plugmt.errors import PlugmtError

__all__ = ["PlugmtError", "Translator", "evaluate", "train"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Imported lazily: `import plugmt` must not pay for TensorFlow's start-up.
    if name == "Translator":
        from plugmt.inference.translator import Translator

        return Translator
    if name in ("train", "evaluate"):
        from plugmt import api

        return getattr(api, name)
    raise AttributeError(f"module 'plugmt' has no attribute {name!r}")
