"""The student stage: a new source language's encoder distilled into a stored encoder's thought space."""

import shutil

import numpy as np
import pytest

from plugmt.errors import PlugmtError
from plugmt.inference.translator import Translator
from plugmt.registry import load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.weights import weight_arrays


def weights_of(store: Store) -> dict[str, list[np.ndarray]]:
    """Every stored module's weights, by id."""
    teacher = store.encoder()
    encoder, _ = load_encoder(store, teacher)
    out = {teacher.id: weight_arrays(encoder)}
    for module in store.decoders(teacher.id):
        out[module.id] = weight_arrays(load_decoder(store, module, encoder.thought_spec())[0])
    return out


@pytest.fixture(scope="module")
def student(trained, compose, tmp_path_factory):
    """A copy of the trained store (teacher reads en, fr, de) with an es student distilled from en."""
    from plugmt.training.student import train_student

    root = tmp_path_factory.mktemp("student") / "store"
    shutil.copytree(trained["store"].root, root)
    store = Store(root)
    before = weights_of(store)
    cfg = compose(f"store={root}", "train.mode=student", "data.pairs=[es-en]", "train.steps=30")
    module = train_student(cfg, store)
    return {"store": store, "module": module, "before": before, "teacher": trained["encoder"]}


def test_a_student_joins_its_teachers_space_and_leaves_teacher_and_decoders_bit_identical(student):
    store, module, teacher = student["store"], student["module"], student["teacher"]
    assert module.meta["space"] == teacher.meta["fingerprint"] and module.meta["teacher"] == teacher.id
    assert module.meta["languages"] == ["es"] and module.meta["stage"] == "student"
    after = weights_of(store)
    assert after.keys() == student["before"].keys()
    for key, arrays in student["before"].items():
        assert all(np.array_equal(a, b) for a, b in zip(arrays, after[key], strict=True)), key
    # The teacher stays the default encoder; the student is picked by name.
    assert store.encoder().id == teacher.id
    assert store.encoder(module.id).id == module.id


def test_every_decoder_of_the_space_reads_the_student(student):
    store, module = student["store"], student["module"]
    translator = Translator.open(store, encoder=module.id)
    for lang in ("en", "fr", "de"):
        plugged = translator.plug(lang)
        assert plugged.module.meta["encoder_id"] == student["teacher"].id
    out = translator.translate(["5 de mayo de 2000", "1 de enero de 2001"], decoder="fr")
    assert len(out) == 2 and all(isinstance(text, str) for text in out)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.pairs=[en-fr]"], "reads both of its sides"),
        (["data.languages=[en,fr,de,es,it,iso]", "data.pairs=[es-it]"], "reads neither of its sides"),
        (["data.languages=[en,fr,de,es,it,iso]", "data.pairs=[es-en,it-fr]"], "from one language the"),
        (["data.pairs=[es-en]", "encoder.units=8"], "must match its teacher's thought"),
    ],
)
def test_student_stages_that_cannot_work_are_refused_in_one_line(trained, compose, overrides, message):
    from plugmt.training.student import train_student

    cfg = compose(f"store={trained['store'].root}", "train.mode=student", "train.steps=2", *overrides)
    count = len(trained["store"].encoders())
    with pytest.raises(PlugmtError, match=message):
        train_student(cfg, trained["store"])
    assert len(trained["store"].encoders()) == count


def test_the_matrix_adds_the_students_rows_with_pivots_through_its_anchor(student, trained):
    from plugmt.corpora.corpus import load_corpus
    from plugmt.evaluation.matrix import zero_shot_matrix

    store = student["store"]
    matrix = zero_shot_matrix(Translator.open(store), load_corpus(trained["cfg"].data), max_items=10)
    rows = {(c.src, c.tgt): c for c in matrix.cells if c.src == "es"}
    assert set(rows) == {("es", "en"), ("es", "fr"), ("es", "de")}
    assert {c.kind for c in rows.values()} == {"plugged-source"}
    assert rows["es", "fr"].pivot["path"] == ["es", "en", "fr"] and rows["es", "en"].pivot is None
    # The teacher's own rows are as before, and teacher<->student retrieval is reported both ways.
    assert {c.kind for c in matrix.cells if c.src != "es"} <= {"supervised", "zero-shot", "plugged"}
    pairs = {(d["src"], d["tgt"]) for d in matrix.diagnostics if d.get("student") == student["module"].id}
    assert {("es", "en"), ("en", "es"), ("es", "fr"), ("de", "es")} <= pairs


def test_source_picks_the_encoder_of_the_space_that_reads_it(student):
    store, module = student["store"], student["module"]
    texts = ["5 de mayo de 2000", "1 de enero de 2001"]
    teacher = Translator.open(store)
    assert teacher.translate(texts, decoder="fr", source="es") == Translator.open(
        store, encoder=module.id
    ).translate(texts, decoder="fr")
    assert teacher.member("en") is teacher and teacher.member("es").encoder_module.id == module.id
    with pytest.raises(PlugmtError, match=r"no encoder of the space of .* reads 'xx'"):
        teacher.member("xx")


def test_the_thought_distance_is_zero_for_the_teachers_thought_and_about_one_for_its_mean():
    import tensorflow as tf

    from plugmt.thought import Thought
    from plugmt.training.distill import thought_distance

    rng = np.random.default_rng(0)
    h, c = (tf.constant(10 * rng.normal(size=(64, 8)), tf.float32) for _ in range(2))  # scale-free?
    memory = tf.constant(10 * rng.normal(size=(64, 3, 8)), tf.float32)
    mask = tf.ones((64, 3), tf.bool)
    thoughts = {
        "vector": Thought("vector", states=(h, c)),
        "slots": Thought("slots", memory=memory),
        "memory": Thought("memory", memory=memory, mask=mask),
    }
    for kind, teacher in thoughts.items():
        assert float(thought_distance(teacher, teacher)) == pytest.approx(0.0, abs=1e-6), kind
        mean = teacher.cast(tf.float32)  # the same kind of thought, every tensor replaced by its mean
        mean = Thought(
            kind,
            states=tuple(tf.broadcast_to(tf.reduce_mean(x, axis=0), tf.shape(x)) for x in mean.states),
            memory=None
            if mean.memory is None
            else tf.broadcast_to(tf.reduce_mean(memory, axis=0), memory.shape),
            mask=teacher.mask,
        )
        assert 0.8 < float(thought_distance(mean, teacher)) < 1.2, kind


def test_two_students_of_one_language_the_newest_reads_it_and_list_says_so(
    student, trained, compose, tmp_path, capsys
):
    """Two students for es in one space: `source=es`, the matrix (one row, its retrieval and training
    record) and `plugmt-registry list` all name the newer one; the older is kept and listed."""
    from plugmt.cli.store_cli import main
    from plugmt.corpora.corpus import load_corpus
    from plugmt.evaluation.matrix import zero_shot_matrix
    from plugmt.training.student import train_student

    root = tmp_path / "store"
    shutil.copytree(student["store"].root, root)
    store, older = Store(root), student["module"]
    newer = train_student(
        compose(f"store={root}", "train.mode=student", "data.pairs=[es-en]", "train.steps=3", "seed=5"), store
    )
    assert newer.id != older.id and newer.meta["languages"] == ["es"]
    teacher = Translator.open(store)
    assert teacher.member("es").encoder_module.id == newer.id
    matrix = zero_shot_matrix(teacher, load_corpus(trained["cfg"].data), max_items=10)
    assert sorted((c.src, c.tgt) for c in matrix.cells if c.src == "es") == [
        ("es", "de"),
        ("es", "en"),
        ("es", "fr"),
    ]
    assert {d["student"] for d in matrix.diagnostics if "student" in d} == {newer.id}
    assert len([d for d in matrix.diagnostics if (d["src"], d["tgt"]) == ("es", "en")]) == 1
    recorded = [m["id"] for m in matrix.training]
    assert newer.id in recorded and older.id not in recorded
    capsys.readouterr()
    main(["--store", str(root), "list"])
    lines = {
        line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("encoder")
    }
    assert f"(source=es reads {newer.id})" in lines[older.id]
    assert "source=es" not in lines[newer.id] and f"student of {teacher.encoder_module.id}" in lines[newer.id]


def test_export_of_a_source_language_serves_the_students_pair(student, tmp_path):
    """`plugmt-export source=es decoder=fr`: the SavedModel reads es through the student, as
    `translate(source="es")` does, and its plugmt.json names the student and its space."""
    import json

    from test_export import translate_saved

    from plugmt.inference.export import INFO_FILE, export_pair

    store, module = student["store"], student["module"]
    path = export_pair(store, "fr", tmp_path / "es-fr", source="es")
    texts = ["5 de mayo de 2000", "1 de enero de 2001", ""]
    assert translate_saved(path, texts) == Translator.open(store).translate(texts, decoder="fr", source="es")
    encoder = json.loads((path / INFO_FILE).read_text())["encoder"]
    assert encoder["id"] == module.id and encoder["languages"] == ["es"]
    assert encoder["space"] == student["teacher"].meta["fingerprint"]
    with pytest.raises(PlugmtError, match="reads 'xx'"):
        export_pair(store, "fr", tmp_path / "xx", source="xx")
    assert not (tmp_path / "xx").exists()
