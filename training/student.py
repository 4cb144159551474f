"""The student stage (`train.mode=student`): a new encoder for new source languages, distilled into
the thought space of a stored (teacher) encoder.

The teacher, frozen, reads one side of parallel pairs (a language it was trained on); the student
reads the other (languages the teacher does not read) and learns to put its thought where the
teacher puts the thought of the same meaning (SONAR, Duquenne et al. 2023; T-Modules, 2022).
Optionally (train.student_translation > 0) the frozen decoder of the teacher's language also scores
the student's thought, teacher-forced on the reference. Every decoder trained against the teacher's
space then reads the new languages with no retraining: the student is stored as an encoder of that
space (meta.json `space` = the teacher's fingerprint, `teacher` = its id), and the store fits
decoders to encoders by space (`storage.module.space_of`).

The distance between thoughts, scale-free (divided by the teacher thought's spread, like the joint
stage's alignment term): `vector` — every state; `slots` — every slot and the pooled thought;
`memory` — the pooled thought only (the two encoders need not split a sentence into as many
positions), with the translation term advised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from omegaconf import DictConfig

from plugmt.corpora.batches import Batch, SeededStream, by_group, side_by_side, trim_padding
from plugmt.corpora.corpus import Corpus, load_corpus
from plugmt.corpora.pairs import Pair, pair_name, parse_pairs
from plugmt.errors import PlugmtError
from plugmt.inference.translator import Pipeline
from plugmt.layers.precision import precision
from plugmt.registry import build_encoder, load_decoder, load_encoder
from plugmt.storage import Store, StoredModule
from plugmt.storage.module import space_of
from plugmt.thought import BOS_ID
from plugmt.training.checkpoints import claim_run, remove_run
from plugmt.training.distill import StudentTrainer
from plugmt.training.loop import fit
from plugmt.training.prepare import (
    make_monitor,
    run_dir_for,
    seed_everything,
    stage_record,
    steps_for,
    summary,
    validate_exact,
    vocab_for,
)
from plugmt.training.settings import TrainSettings, train_settings

log = logging.getLogger("plugmt.train")


class StudentBatches(SeededStream):
    """An endless, seeded stream of (new-language, teacher-language) batches of the same meanings.

    Batch *i* is a pure function of (seed, i), as in `MultiTargetBatches` (exact resume). Its
    `sources` are [2, B, S]: the student's ids of a new language, then the teacher's ids of the
    teacher's language; the targets are the teacher language's, for its frozen decoder.
    """

    two_sources = False

    def __init__(
        self,
        student_ids: dict[str, np.ndarray],
        teacher_ids: np.ndarray,
        target_ids: np.ndarray,
        groups: Sequence[str],
        teacher_lang: str,
        batch_size: int,
        seed: int,
        temperature: float = 1.0,
    ) -> None:
        self.student_ids, self.teacher_ids, self.target_ids = student_ids, teacher_ids, target_ids
        self.new = sorted(student_ids)
        self.teacher_lang = teacher_lang
        self.decoders = [teacher_lang]
        super().__init__(seed)
        self.batch_size = int(batch_size)
        labels = np.asarray(groups)
        self.rows = len(labels)
        self.group_rows, self.group_weights = by_group(labels, np.arange(len(labels)), temperature)

    def rows_per_direction(self) -> int:
        return self.rows

    def directions_per_batch(self) -> float:
        return 1.0

    def expected_rows(self) -> float:
        return float(self.batch_size)

    def batch(self, index: int) -> Batch:
        rng = np.random.default_rng([self.seed, index])
        lang = self.new[rng.integers(len(self.new))]
        rows = self.group_rows[rng.choice(len(self.group_rows), p=self.group_weights)]
        chosen = rng.choice(rows, size=self.batch_size, replace=len(rows) < self.batch_size)
        sources = side_by_side(
            [trim_padding(self.student_ids[lang][chosen]), trim_padding(self.teacher_ids[chosen])]
        )
        out = trim_padding(self.target_ids[chosen])
        target_in = np.concatenate([np.full((len(chosen), 1), BOS_ID, dtype=np.int32), out[:, :-1]], axis=1)
        return Batch(
            (lang, self.teacher_lang),
            sources,
            (target_in,),
            (out,),
            np.zeros(1, np.int32),
            ((lang, self.teacher_lang),),
        )


def student_pairs(
    cfg: DictConfig, corpus: Corpus, teacher: StoredModule
) -> tuple[list[Pair], list[str], str]:
    """(pairs as (new, teacher language), the new languages, the teacher's language) from
    data.pairs, each pair having exactly one side the teacher reads; one teacher language."""
    pairs = parse_pairs(cfg.data.pairs, corpus.languages, corpus.target_only)
    reads = set(teacher.meta.get("languages", []))
    oriented = []
    for a, b in pairs:
        if (a in reads) == (b in reads):
            which = "both" if a in reads else "neither"
            raise PlugmtError(
                f"data.pairs entry {a}-{b}: the teacher {teacher.id} reads {which} of its sides "
                f"(it reads {', '.join(sorted(reads))}); a student pair is <new language>-<one it reads>"
            )
        oriented.append((b, a) if a in reads else (a, b))
    anchors = sorted({t for _, t in oriented})
    if len(anchors) != 1:
        raise PlugmtError(
            f"data.pairs pair the new languages with {', '.join(anchors)}: a student stage learns "
            "from one language the teacher reads; pick one (e.g. data.pairs=[sv-en])"
        )
    return sorted(set(oriented)), sorted({s for s, _ in oriented}), anchors[0]


def _spec(encoder: Any) -> str:
    spec = encoder.thought_spec()
    return f"{spec.kind} (width {spec.width})"


def train_student(cfg: DictConfig, store: Store) -> StoredModule:
    """Train and store a student encoder of the teacher's space (the stored encoder encoder_id, or
    the newest teacher) for the new languages of data.pairs."""
    settings = train_settings(cfg)
    store.check_writable()
    seed_everything(cfg.seed)
    corpus = load_corpus(cfg.data)
    teacher_module = store.encoder(cfg.get("encoder_id"))
    if teacher_module.meta.get("space"):
        raise PlugmtError(
            f"encoder {teacher_module.id} is itself a student (of {teacher_module.meta.get('teacher')}); "
            "distil from its teacher: encoder_id=<the teacher's id>"
        )
    pairs, new, anchor = student_pairs(cfg, corpus, teacher_module)
    with store.using_encoder(teacher_module):
        return _train_student(cfg, store, settings, corpus, pairs, new, anchor, teacher_module)


def _train_student(
    cfg: DictConfig,
    store: Store,
    settings: TrainSettings,
    corpus: Corpus,
    pairs: Sequence[Pair],
    new: Sequence[str],
    anchor: str,
    teacher_module: StoredModule,
) -> StoredModule:
    with precision(settings.precision):
        teacher, teacher_vocab = load_encoder(store, teacher_module)
        decoder_module = store.resolve_decoder(anchor, teacher_module)
        decoder, target_vocab = load_decoder(store, decoder_module, teacher.thought_spec())
        student_vocab = vocab_for(corpus, list(new), cfg, shared=True)
        student = build_encoder(cfg.encoder, student_vocab.size)
    teacher.trainable = decoder.trainable = False
    if student.thought_spec() != teacher.thought_spec():
        raise PlugmtError(
            f"the student (encoder={cfg.encoder.name}) emits {_spec(student)} thoughts, the teacher "
            f"{teacher_module.id} {_spec(teacher)}: a student must match its teacher's thought "
            "(kind and width)"
        )
    student_ids = {lang: student_vocab.encode_padded(corpus.texts("train", lang)) for lang in new}
    batches = StudentBatches(
        student_ids,
        teacher_vocab.encode_padded(corpus.texts("train", anchor)),
        target_vocab.encode_padded(corpus.texts("train", anchor), add_eos=True),
        corpus.groups("train"),
        anchor,
        settings.batch_size,
        cfg.seed,
        settings.temperature,
    )
    steps = steps_for(settings, batches.rows_per_direction(), pairs, batches)
    log.info(
        f"student: encoder {cfg.encoder.name} for {', '.join(new)} distilled from {teacher_module.id} "
        f"reading {anchor}; {steps} steps of {settings.batch_size}"
    )
    max_len = int(decoder_module.meta["max_len"])
    pipelines = {anchor: Pipeline(student, student_vocab, decoder, target_vocab, max_len)}
    extra = {"teacher": teacher_module.id, "languages": list(new), "anchor": anchor}
    run_dir = run_dir_for(store, "student", cfg, None, extra)
    monitor = make_monitor(
        corpus, pipelines, pairs, settings, {"encoder": student}, f"student-{'-'.join(new)}"
    )
    trainer = StudentTrainer(student, teacher, decoder, settings)
    with claim_run(run_dir):
        history = fit(
            student,
            {anchor: decoder},
            batches,
            steps,
            settings,
            True,
            "student",
            run_dir=run_dir,
            monitor=monitor,
            trainer=trainer,
        )
        if monitor is not None:
            if not monitor.history or monitor.history[-1].step != history["steps"]:
                monitor.check(history["steps"])
            monitor.restore_best()
            history.update(monitor.record())
        validation = validate_exact(corpus, pipelines, pairs, settings.eval_items)
        record = stage_record(cfg, "student", pairs, history, corpus)
        record.update(
            languages=list(new),
            space=space_of(teacher_module.meta),
            teacher=teacher_module.id,
            metrics={"valid_exact": {pair_name(p): validation[p] for p in pairs}},
        )
        module = store.save_encoder(student, student_vocab, record)
        remove_run(run_dir)
    log.info(f"student done in {history['seconds']}s: encoder {module.id}; valid exact {summary(validation)}")
    return module
