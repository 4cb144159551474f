"""`train.*` typed: the settings of a training stage. The dataclass is the `train` config group's
only option (`train=default`, registered by `plugmt.conf.schemas`): no YAML repeats its defaults, and
a typo or a value outside a closed choice fails when the config is composed, naming the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from omegaconf import DictConfig, OmegaConf

from plugmt.errors import PlugmtError


class Choice(str, Enum):
    """A closed choice of a setting: compares equal to its value, and prints as it."""

    def __str__(self) -> str:
        return str(self.value)


class Mode(Choice):
    joint = "joint"  # a shared encoder + a decoder per target of data.pairs
    plugin = "plugin"  # a new decoder (decoder.lang) against the stored encoder, frozen
    student = "student"  # a new encoder for new source languages, distilled into a stored encoder's space


class Strategy(Choice):
    none = "none"
    mirrored = "mirrored"  # all local GPUs/devices
    multi_worker = "multi_worker"  # hosts from TF_CONFIG


class Select(Choice):
    loss = "loss"  # keep the weights of the lowest validation loss
    chrf = "chrf"  # ... or of the best validation chrF


class Decay(Choice):
    none = "none"
    cosine = "cosine"  # the rate falls along a cosine to final_rate x learning_rate by the last step
    inverse_sqrt = "inverse_sqrt"  # after warmup_steps, rate x sqrt(warmup_steps / step) (Vaswani et al.)


class Precision(Choice):
    float32 = "float32"
    bf16 = "bf16"  # bfloat16 compute, float32 weights (layers/precision.py): the stored modules are alike


DECAYS = tuple(d.value for d in Decay)
STRATEGIES = tuple(s.value for s in Strategy)


@dataclass
class TrainSettings:
    """A training stage's settings (`train.*`; `plugin.train.*` overrides them for plugmt-run's plug-in
    stage). Validation may end a stage before its epochs; max_seconds is a safety cap."""

    mode: Mode = Mode.joint
    # At most this many passes over (training meanings x directions); train.steps overrides.
    epochs: float = 2.0
    steps: int | None = None
    batch_size: int = 128  # smaller batches, more updates: 6x lower loss per second here than 256
    # Tokens per batch instead (null: batch_size rows): a batch of a group (phrasebook family, length
    # band), from rows of one 2-token band of longest text, holds batch_tokens // that length rows
    batch_tokens: int | None = None
    learning_rate: float = 0.01
    clip_norm: float = 5.0
    align_weight: float = 1.0  # joint: pull the thoughts of one meaning in two languages together (0 = off)
    # joint, encoder=bridge: compare the thoughts of one meaning slot by slot (slot k of one language
    # against slot k of the other: everything a decoder reads), not their mean over slots
    align_per_slot: bool = False
    # joint, encoder=bridge: weight of a penalty on slots that read the same source positions
    # (Lin et al. 2017, encoders/bridge.py slot_overlap; 0 = off)
    slot_diversity: float = 0.0
    # joint: weight of the agreement term (Al-Shedivat & Parikh 2019; training/step.py agreement_loss):
    # each batch, one decoder trained from one of its two sources decodes that source's thought
    # greedily and is taught its output from the other source's thought, a direction no pair trains
    # (a zero-shot cell held to its pivot's output, no parallel text; 0 = off)
    agreement: float = 0.0
    # Sources read, train.variant_rate of the time, in another rendering of the same meaning where the
    # row's family has one (date ranges: months in full, both dates whole; corpora/variants.py); [] = off
    source_variants: list[str] = field(default_factory=list)
    variant_rate: float = 0.5
    # joint: also train x -> x for every language both read and written (a plug-in trains its pairs
    # only: x -> x there bought nothing over seeds 0-2, docs/RESULTS.md)
    identity_pairs: bool = True
    # Groups (phrasebook families / length bands) drawn by size**(1/T): 1 = by size, 5 = flatter.
    temperature: float = 1.0
    # XLA: +34% steps/s for one direction (tutorial, plug-in); joint runs have too many batch shapes
    # (one compile each): 5x slower there. Lengths are rounded to 8.
    jit_compile: bool = False
    log_every: int = 100  # progress line every N steps
    eval_items: int = 200  # validation items per direction at the end of a stage
    max_seconds: float | None = 900.0  # a safety cap on a stage's seconds (a stage it cuts short says so)
    # A resumable checkpoint every N steps (0 = off); the same command after a crash resumes from
    # <store>/.runs/<stage>-<hash>/.
    checkpoint_every: int = 200
    resume: bool = True  # false: ignore an existing checkpoint and start the stage afresh
    strategy: Strategy = Strategy.none
    warmup_steps: int = 0  # rise to learning_rate linearly over this many steps (Transformers: a few hundred)
    # Score the validation split (exact, chrF, loss) every N steps and keep the best weights.
    validate_every: int | None = 250
    patience: int | None = 3  # stop after this many validations without a gain (null: never early)
    tensorboard: str | None = None  # a folder for TensorBoard curves (loss, throughput, validation chrF)
    # Gaussian noise on the thought a decoder reads in training, x its RMS: a decoder learns a
    # neighbourhood of each thought, not a point (zero-shot and plug-in robustness).
    thought_noise: float = 0.2
    select: Select = Select.loss
    min_delta: float = 0.01  # a gain (for patience) is a relative improvement of more than this
    decay: Decay = Decay.none
    final_rate: float = 0.1
    precision: Precision = Precision.float32
    # >= 2: at the end of the stage, the mean of the last N validated weights (every validate_every
    # steps) is validated too and stored when it scores at least as well as the best single one
    average_last: int = 0
    # student stage: weight of the frozen decoder's translation loss on the student's thought, beside
    # the distance to the teacher's thought (0 = distance only)
    student_translation: float = 0.0
    # ε of label smoothing: 1 - ε on the reference token, ε spread over the vocabulary (0 = off)
    label_smoothing: float = 0.0
    # At each validation, also score every direction from the stage's sources into its decoders that
    # it does not train (joint: the zero-shot cells), and its pivot through trained directions: shown,
    # logged and plotted beside the score, never part of it (selection and stopping are unchanged)
    watch_unseen: bool = False


def per_slot_refusal(what: str) -> str:
    """The one line refusing train.align_per_slot for an encoder without fixed slots (`what`)."""
    return (
        f"train.align_per_slot=true compares thoughts slot by slot, but {what} has no fixed slots: "
        "use encoder=bridge, or drop train.align_per_slot"
    )


def slot_diversity_refusal(what: str) -> str:
    """The one line refusing train.slot_diversity for an encoder without slots (`what`)."""
    return (
        f"train.slot_diversity spreads a bridge's slots over the source, but {what} has no slots: "
        "use encoder=bridge, or set train.slot_diversity=0"
    )


def agreement_refusal(strategy: str) -> str:
    """The one line refusing train.agreement with a data-parallel strategy (not implemented there)."""
    return (
        f"train.agreement decodes inside the single-device step, which train.strategy={strategy} "
        "replaces: set train.strategy=none, or train.agreement=0"
    )


def check_schedule(decay: str, warmup_steps: int, prefix: str = "train.") -> None:
    """train.decay=inverse_sqrt falls from the end of warm-up, so it needs warm-up steps."""
    if str(decay) == "inverse_sqrt" and not warmup_steps:
        raise PlugmtError(
            f"{prefix}decay=inverse_sqrt falls from the end of warm-up: set {prefix}warmup_steps, "
            f"e.g. {prefix}warmup_steps=2000"
        )


def train_settings(cfg: DictConfig) -> TrainSettings:
    """`cfg.train` as TrainSettings; a value the schema refuses is one line naming its key."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(TrainSettings), cfg.train)
    except OmegaConfBaseException as error:
        why = str(error.msg).strip().splitlines()[0]
        raise PlugmtError(f"train.{error.full_key}: {why}") from None
    return OmegaConf.to_object(merged)
