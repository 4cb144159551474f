"""The typed schemas behind every config group and app that is not an architecture.

`register()` puts them into Hydra's ConfigStore before a config is composed: `train` and `eval` are
groups whose one option (`default`) *is* the dataclass, and the apps' YAML files (`apps/translate`,
`apps/export`) list their schema first and hold only what differs (Hydra's own settings). So every
key has a type, a closed choice is an Enum, and a typo or a wrong value fails when the config is
composed (`cli.hydra_app` words it as the key's rule in `cli.checks` would). Architectures register
their own schemas (`plugmt.registry`). Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plugmt.training.settings import Choice, TrainSettings

STORE = "${oc.env:PLUGMT_STORE,store}"  # where trained modules are (env PLUGMT_STORE overrides)


class Split(Choice):
    train = "train"
    valid = "valid"
    test = "test"


class Adapter(Choice):
    linear = "linear"
    orthogonal = "orthogonal"


class Format(Choice):
    text = "text"  # one line per input
    jsonl = "jsonl"  # source, translation, decoder


@dataclass
class EvalSettings:
    """`eval.*`: the zero-shot matrix."""

    sources: list[str] | None = None  # source languages (default: every language the encoder reads)
    decoders: list[str] | None = None  # languages or decoder ids (default: every language with a decoder)
    split: Split = Split.test
    beam_size: int = 1  # 1 = greedy
    length_penalty: float = 0.0
    max_items: int | None = 300  # test items per cell, a fixed sample (null: the whole split)
    out: str | None = None  # where matrix.{json,md,png} go (default: the Hydra run directory)
    # allow_foreign=true: map this encoder's thoughts into a foreign decoder's (linear | orthogonal).
    adapter: Adapter | None = None
    adapter_items: int = 2000  # training sentences over the encoder's languages; a map uses those both read


@dataclass
class DecodingSettings:
    store: str = STORE
    # Default: the newest encoder in the store. Untyped, so a number given here is refused by its
    # rule (cli/checks.py) instead of being read as the id "123".
    encoder_id: Any = None
    decoder: str | None = None  # a language (newest decoder that fits the encoder) or a decoder id
    # The source language, when a student encoder of the encoder's thought space reads it
    # (train.mode=student): that encoder reads the sentences (null: the encoder itself)
    source: str | None = None
    allow_foreign: bool = False  # accept a decoder trained against another encoder
    beam_size: int = 1  # 1 = greedy; K > 1 = beam search over the decoder's step
    length_penalty: float = 0.0  # beam ranking: log-prob / ((5 + length) / 6) ** length_penalty


@dataclass
class TranslateSettings(DecodingSettings):
    """plugmt-translate's settings (sentences themselves go after `--`, on stdin or in `input=`)."""

    text: list[str] = field(default_factory=list)  # sentences, as an alternative to arguments or stdin
    input: str | None = None  # a UTF-8 file of sentences, one a line (instead of stdin)
    batch_size: int = 256
    format: Format = Format.text


@dataclass
class ExportSettings(DecodingSettings):
    """plugmt-export's settings: one (encoder, decoder) pair as a SavedModel."""

    out: str | None = None  # the SavedModel folder to write (required)
    overwrite: bool = False  # replace an existing out= folder


def register(architectures: bool = True) -> None:
    """Every schema into Hydra's ConfigStore (idempotent): these, and with `architectures` every
    registered encoder and decoder (plugmt-translate and -export go without: there `decoder=` names
    a stored decoder, and a `decoder` group would capture it)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    if architectures:  # the training apps' groups; translate and export offer none of them
        from plugmt.registry import register_configs

        register_configs()
        store.store(group="train", name="default", node=TrainSettings)
        store.store(group="eval", name="default", node=EvalSettings)
    store.store(name="translate_schema", node=TranslateSettings)
    store.store(name="export_schema", node=ExportSettings)
