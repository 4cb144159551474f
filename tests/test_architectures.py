"""The attention architectures: encoder=transformer|bridge, decoder=transformer, decoder=lstm over slots."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

from plugmt.corpora.vocab import Vocab
from plugmt.decoders.search import beam_search, greedy_search, sequence_log_prob
from plugmt.encoders.bridge import slot_overlap
from plugmt.errors import PlugmtError
from plugmt.registry import build_decoder, build_encoder, load_decoder, load_encoder
from plugmt.storage import Store
from plugmt.storage.weights import fingerprint, weight_arrays
from plugmt.thought import EOS_ID, Thought, ThoughtSpec
from plugmt.training.settings import TrainSettings
from plugmt.training.step import aligned_rows, alignment_loss, stage_losses

SMALL = {"d_model": 16, "heads": 2, "layers": 2, "ffn": 32, "dropout": 0.1}
ENCODERS = {
    "transformer": {"name": "transformer", **SMALL},
    "transformer-learned-no-middle-residual": {
        "name": "transformer",
        **SMALL,
        "layers": 3,
        "positions": "learned",
        "max_len": 16,
        "drop_middle_residual": True,
    },
    "bridge-lstm": {"name": "bridge", "d_model": 16, "slots": 3, "attention_units": 8},
    "bridge-transformer": {
        "name": "bridge",
        "body": "transformer",
        **SMALL,
        "slots": 3,
        "attention_units": 8,
    },
}
DECODERS = {
    "transformer": {"name": "transformer", **SMALL, "max_len": 16},
    "transformer-untied-learned": {
        "name": "transformer",
        **SMALL,
        "max_len": 16,
        "tie_embeddings": False,
        "positions": "learned",
    },
    "lstm": {"name": "lstm", "embed_dim": 6},
    "lstm-narrow": {"name": "lstm", "embed_dim": 6, "units": 12, "feed_thought": False},
}
SOURCES = tf.constant([[5, 6, 7, 0, 0, 0], [4, 5, 6, 7, 8, 9], [9, 0, 0, 0, 0, 0]])
TARGETS = tf.constant([[2, 4, 5, 6, 7, 3, 0], [2, 8, 8, 4, 3, 0, 0], [2, 3, 0, 0, 0, 0, 0]])


def randomise(layer, seed: int) -> None:
    """Random weights are a model like any other, and make equalities non-trivial."""
    for i, weight in enumerate(layer.weights):
        weight.assign(tf.random.stateless_normal(weight.shape, seed=[seed, i], stddev=0.5))


def encoder_and_decoder(encoder_name: str, decoder_name: str, vocab_size: int = 12):
    tf.random.set_seed(0)
    encoder = build_encoder(ENCODERS[encoder_name], vocab_size=vocab_size)
    decoder = build_decoder(DECODERS[decoder_name], vocab_size=vocab_size, thought=encoder.thought_spec())
    randomise(encoder, 1)
    randomise(decoder, 2)
    return encoder, decoder


# --------------------------------------------------------------------------- encoders


@pytest.mark.parametrize("name", list(ENCODERS))
def test_encoders_emit_their_kind_and_ignore_padding(name):
    encoder = build_encoder(ENCODERS[name], vocab_size=12)
    randomise(encoder, 1)
    thought = encoder.encode(SOURCES)
    kind = "slots" if name.startswith("bridge") else "memory"
    assert encoder.thought_spec() == ThoughtSpec(kind, 16)
    assert thought.kind == kind
    if kind == "slots":
        assert thought.memory.shape == (3, 3, 16) and thought.mask is None
    else:
        assert thought.memory.shape == (3, 6, 16)
        np.testing.assert_array_equal(thought.mask.numpy(), SOURCES.numpy() != 0)
    alone = encoder.encode(SOURCES[:1, :3]).pooled()
    np.testing.assert_allclose(alone.numpy(), thought.pooled().numpy()[:1], atol=1e-5)


def test_drop_middle_residual_affects_only_the_middle_layer():
    settings = {**ENCODERS["transformer"], "layers": 3}
    plain = build_encoder(settings, vocab_size=12)
    dropped = build_encoder({**settings, "drop_middle_residual": True}, vocab_size=12)
    assert [b.residual for b in plain.stack.blocks] == [True, True, True]
    assert [b.residual for b in dropped.stack.blocks] == [True, False, True]
    for weight, same in zip(dropped.weights, plain.weights, strict=True):
        weight.assign(same)
    assert not np.allclose(dropped.encode(SOURCES).memory.numpy(), plain.encode(SOURCES).memory.numpy())


def test_lstm_dropout_drops_only_while_training_and_adds_no_weight():
    """encoder.dropout and decoder.dropout on the LSTMs: the same weights as without (a module is the
    same module), the same outputs outside training (encode, teacher forcing, `step`), others in it."""
    lstm = {"name": "lstm", "embed_dim": 6, "units": 16}
    plain, dropped = (build_encoder({**lstm, "dropout": rate}, vocab_size=12) for rate in (0.0, 0.5))
    spec = plain.thought_spec()
    decoders = [build_decoder({"name": "lstm", "embed_dim": 6, "dropout": r}, 12, spec) for r in (0.0, 0.5)]
    for seed, (a, b) in enumerate([(plain, dropped), decoders], 1):  # built weights, none for dropout
        assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
        randomise(a, seed)
        randomise(b, seed)
    thought = plain.encode(SOURCES)
    np.testing.assert_allclose(dropped.encode(SOURCES).states[1], thought.states[1], atol=1e-6)
    assert not np.allclose(dropped.encode(SOURCES, training=True).states[1], thought.states[1], atol=1e-3)
    logits = decoders[0].teacher_forced(TARGETS, thought)
    np.testing.assert_allclose(decoders[1].teacher_forced(TARGETS, thought), logits, atol=1e-5)
    trained = decoders[1].teacher_forced(TARGETS, thought, training=True)
    assert not np.allclose(trained, logits, atol=1e-3)
    steps = [d.step(TARGETS[:, 0], d.initial_state(thought), thought)[0] for d in decoders]
    np.testing.assert_allclose(steps[1], steps[0], atol=1e-5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"name": "transformer", "d_model": 10, "heads": 4}, "encoder.d_model=10 must be a multiple of"),
        ({"name": "transformer", "positions": "rotary"}, "encoder.positions='rotary': use one of"),
        ({"name": "bridge", "body": "gru"}, "encoder.body='gru': use one of lstm, transformer"),
        ({"name": "bridge", "d_model": 15}, "encoder.d_model=15 must be even"),
    ],
)
def test_impossible_encoder_settings_are_refused_in_one_line(settings, message):
    with pytest.raises(PlugmtError, match=message):
        build_encoder(settings, vocab_size=12)


def test_per_slot_alignment_sees_slots_the_mean_cannot_tell_apart():
    """Two slot thoughts with the same slots in another order: their means agree (pooled alignment
    0), slot by slot they differ; a memory thought has no slots to compare and is refused."""
    slots = tf.random.stateless_normal([4, 3, 5], seed=[1, 2])
    a, b = Thought("slots", memory=slots), Thought("slots", memory=tf.reverse(slots, [1]))
    assert float(alignment_loss(aligned_rows(a), aligned_rows(b))) == pytest.approx(0.0, abs=1e-6)
    rows = aligned_rows(a, per_slot=True)
    np.testing.assert_array_equal(rows.numpy(), tf.concat(tf.unstack(slots, axis=1), axis=-1).numpy())
    assert float(alignment_loss(rows, aligned_rows(b, per_slot=True))) > 0.5
    memory = Thought("memory", memory=slots, mask=tf.ones([4, 3], tf.bool))
    with pytest.raises(PlugmtError, match=r"align_per_slot=true .* a 'memory' thought has no fixed slots"):
        aligned_rows(memory, per_slot=True)


def test_the_joint_step_aligns_slot_by_slot_when_asked():
    """stage_losses' alignment term is the spread-normalised distance of the two sources' thoughts:
    of their mean over slots by default, of every slot with train.align_per_slot."""
    encoder = build_encoder({**ENCODERS["bridge-transformer"], "dropout": 0.0}, vocab_size=12)
    decoder = build_decoder(DECODERS["transformer"], vocab_size=12, thought=encoder.thought_spec())
    randomise(encoder, 1)
    randomise(decoder, 2)
    source = tf.stack([SOURCES, tf.reverse(SOURCES, [1])])  # two "languages" of the same 3 rows
    thought = encoder.encode(tf.reshape(source, [6, -1]))
    seen = []
    for per_slot in (False, True):
        settings = TrainSettings(align_per_slot=per_slot, thought_noise=0.0)
        _, alignment, _ = stage_losses(
            encoder, {"de": decoder}, settings, True, 2, source,
            [TARGETS[:, :-1]], [TARGETS[:, 1:]], tf.constant([0]),
        )  # fmt: skip
        rows = aligned_rows(thought, per_slot)
        assert float(alignment) == pytest.approx(float(alignment_loss(rows[:3], rows[3:])), rel=1e-5)
        seen.append(float(alignment))
    assert seen[0] != pytest.approx(seen[1], rel=1e-3)


def test_slot_overlap_is_zero_for_slots_of_their_own_and_grows_as_slots_share_a_position():
    """||AᵀA − I||² / K: 0 when each slot reads a position of its own, 1 when slots read positions in
    pairs, K − 1 when all read one; padding (weight 0) adds nothing."""
    own = tf.eye(4)[None]  # [B, T, K]: slot k reads position k
    pairs = tf.constant(np.repeat(np.eye(2), 2, axis=1)[None], tf.float32)  # slots 0,1 on 0; 2,3 on 1
    one = tf.one_hot([[0, 0, 0, 0]], 6, axis=1)  # all four slots on position 0 of 6 (5 padding)
    assert [round(float(slot_overlap(w)[0]), 6) for w in (own, pairs, one)] == [0.0, 1.0, 3.0]
    both = tf.concat([tf.pad(own, [[0, 0], [0, 2], [0, 0]]), one], axis=0)  # a batch: its mean
    np.testing.assert_allclose(slot_overlap(both).numpy(), [0.0, 3.0], atol=1e-6)  # one value a sentence


def test_the_joint_step_adds_the_slot_penalty_and_training_on_it_spreads_the_slots():
    """With train.slot_diversity=w the step's total is the plain total + w × the encoder's slot
    overlap; minimising the penalty moves slots off shared positions; a thought without slots is
    refused by the step."""
    encoder = build_encoder({**ENCODERS["bridge-lstm"], "slots": 4}, vocab_size=12)
    decoder = build_decoder(DECODERS["lstm"], vocab_size=12, thought=encoder.thought_spec())
    randomise(encoder, 1)
    randomise(decoder, 2)
    source = tf.stack([SOURCES, tf.reverse(SOURCES, [1])])
    args = ({"de": decoder}, None, True, 2, source, [TARGETS[:, :-1]], [TARGETS[:, 1:]], tf.constant([0]))

    def total(weight: float) -> float:
        settings = TrainSettings(slot_diversity=weight, thought_noise=0.0)
        return float(stage_losses(encoder, args[0], settings, *args[2:])[2])

    overlap = float(tf.reduce_mean(encoder.encode_with_overlap(tf.reshape(source, [6, -1]))[1]))
    assert overlap > 0.1
    assert total(2.0) == pytest.approx(total(0.0) + 2.0 * overlap, rel=1e-5)
    long = tf.constant([[4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4]])  # 6 positions for 4 slots: room for all
    before = float(tf.reduce_mean(encoder.encode_with_overlap(long)[1]))
    optimizer = tf.keras.optimizers.Adam(0.05)
    for _ in range(30):
        with tf.GradientTape() as tape:
            penalty = tf.reduce_mean(encoder.encode_with_overlap(long, training=True)[1])
        weights = encoder.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(penalty, weights), weights, strict=True))
    assert float(tf.reduce_mean(encoder.encode_with_overlap(long)[1])) < min(0.2, before / 4)
    lstm = build_encoder({"name": "lstm", "embed_dim": 6, "units": 8}, vocab_size=12)
    with pytest.raises(
        PlugmtError, match=r"slot_diversity spreads a bridge's slots .* 'vector' thought has no slots"
    ):
        stage_losses(lstm, {}, TrainSettings(slot_diversity=1.0), True, 2, source, [], [], tf.constant([]))


# --------------------------------------------------------------------------- refusals


def test_lstm_decoder_refuses_units_other_than_the_vector_width():
    with pytest.raises(PlugmtError, match=r"units=12 must equal its width 8; leave decoder.units=null"):
        build_decoder({"name": "lstm", "units": 12}, vocab_size=10, thought=ThoughtSpec("vector", 8))


@pytest.mark.parametrize("kind", ["slots", "memory"])
def test_lstm_decoder_reads_slots_and_memory_at_any_width(kind):
    decoder = build_decoder({"name": "lstm", "units": 12}, vocab_size=10, thought=ThoughtSpec(kind, 8))
    assert decoder.attends and decoder.cell.units == 12


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize(
    ("encoder_name", "decoder_name"),
    [
        ("transformer", "transformer"),
        ("bridge-lstm", "transformer-untied-learned"),
        ("transformer", "lstm"),
        ("bridge-lstm", "lstm-narrow"),
    ],
)
def test_step_by_step_logits_equal_teacher_forcing(encoder_name, decoder_name):
    encoder, decoder = encoder_and_decoder(encoder_name, decoder_name)
    thought = encoder.encode(SOURCES)
    expected = decoder.teacher_forced(TARGETS, thought).numpy()
    state = decoder.initial_state(thought)
    stepped = []
    for position in range(TARGETS.shape[1]):
        logits, state = decoder.step(TARGETS[:, position], state, thought)
        stepped.append(logits.numpy())
    np.testing.assert_allclose(np.stack(stepped, axis=1), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("encoder_name", "decoder_name"), [("transformer", "transformer"), ("bridge-lstm", "lstm")]
)
def test_beam_of_one_is_greedy_and_wider_beams_never_score_lower(encoder_name, decoder_name):
    encoder, decoder = encoder_and_decoder(encoder_name, decoder_name)
    thought = encoder.encode(SOURCES)
    greedy = greedy_search(decoder, thought, max_len=10)
    greedy_scores = sequence_log_prob(decoder, thought, greedy).numpy()
    beam, scores = beam_search(decoder, thought, max_len=10, beam_size=1)
    np.testing.assert_array_equal(beam.numpy(), greedy.numpy())
    np.testing.assert_allclose(scores.numpy(), greedy_scores, rtol=1e-4, atol=1e-4)
    wide, wide_scores = beam_search(decoder, thought, max_len=10, beam_size=4)
    rescored = sequence_log_prob(decoder, thought, wide).numpy()
    np.testing.assert_allclose(wide_scores.numpy(), rescored, rtol=1e-4, atol=1e-4)
    assert (rescored >= greedy_scores - 1e-4).all()


def test_learned_positions_end_every_sentence_at_their_last_row():
    encoder, _ = encoder_and_decoder("transformer", "transformer")
    config = {**DECODERS["transformer"], "max_len": 4, "positions": "learned"}
    decoder = build_decoder(config, 12, encoder.thought_spec())
    randomise(decoder, 2)
    thought = encoder.encode(SOURCES)
    for ids in (greedy_search(decoder, thought, 10), beam_search(decoder, thought, 10, beam_size=3)[0]):
        assert ids.shape[1] <= 4
        assert all(EOS_ID in row for row in ids.numpy())


def test_sinusoidal_decoding_runs_past_max_len_and_its_cache_grows_with_each_position():
    encoder, _ = encoder_and_decoder("transformer", "transformer")
    decoder = build_decoder({**DECODERS["transformer"], "max_len": 4}, 12, encoder.thought_spec())
    randomise(decoder, 2)
    thought = encoder.encode(SOURCES)
    state = decoder.initial_state(thought)
    tokens = tf.fill([3], 2)
    for position in range(1, 8):  # past max_len=4: no assertion, no fixed buffer
        _, state = decoder.step(tokens, state, thought)
        assert state["keys"][0].shape[2] == position == state["values"][-1].shape[2]
    # Beam search reorders the hypotheses' caches, and leaves the thought's keys and values alone.
    reordered = decoder.reorder(state, tf.constant([2, 0, 0]))
    assert reordered["cross_keys"][0] is state["cross_keys"][0]
    np.testing.assert_array_equal(reordered["keys"][1][1].numpy(), state["keys"][1][0].numpy())
    ids, _ = beam_search(decoder, thought, 9, beam_size=2)
    assert ids.shape[1] <= 9


def test_cached_search_runs_compiled_with_beams():
    encoder, decoder = encoder_and_decoder("transformer", "transformer")

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def decode(ids):
        thought = encoder.encode(ids)
        return greedy_search(decoder, thought, 10), beam_search(decoder, thought, 10, beam_size=3)[0]

    greedy, beam = decode(SOURCES)
    eager = greedy_search(decoder, encoder.encode(SOURCES), 10)
    np.testing.assert_array_equal(greedy.numpy(), eager.numpy())
    assert beam.shape[0] == 3


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize(
    ("encoder_name", "decoder_name"),
    [
        ("transformer-learned-no-middle-residual", "transformer-untied-learned"),
        ("bridge-transformer", "lstm"),
    ],
)
def test_store_round_trip_gives_identical_outputs(encoder_name, decoder_name, tmp_path):
    vocab = Vocab.train(["abcdefghij klm", "nopqrstu 0123"], "char", 100)
    encoder, decoder = encoder_and_decoder(encoder_name, decoder_name, vocab_size=vocab.size)
    store = Store(tmp_path)
    encoder_module = store.save_encoder(encoder, vocab, {"languages": ["xx"]})
    decoder_module = store.save_decoder(decoder, vocab, encoder_module, {"lang": "yy", "max_len": 8})
    loaded_encoder, _ = load_encoder(store, encoder_module)
    loaded_decoder, _ = load_decoder(store, decoder_module, loaded_encoder.thought_spec())
    assert fingerprint(weight_arrays(loaded_encoder)) == encoder_module.meta["fingerprint"]
    thought, again = encoder.encode(SOURCES), loaded_encoder.encode(SOURCES)
    np.testing.assert_array_equal(again.memory.numpy(), thought.memory.numpy())
    logits = decoder.teacher_forced(TARGETS, thought).numpy()
    np.testing.assert_array_equal(loaded_decoder.teacher_forced(TARGETS, again).numpy(), logits)
    np.testing.assert_array_equal(
        greedy_search(loaded_decoder, again, 8).numpy(), greedy_search(decoder, thought, 8).numpy()
    )


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def compose_architecture(cache_dir):
    """The config `plugmt-train` would see for these architectures, TINY's data and training settings."""
    from hydra import compose, initialize_config_module

    from plugmt.conf.schemas import register

    register()  # the typed schemas (train, eval, every architecture's settings) composing needs
    base = [o for o in TINY if not o.startswith(("encoder.", "decoder."))]

    def make(*overrides: str):
        with initialize_config_module("plugmt.conf", version_base="1.3"):
            return compose("config", overrides=[*base, f"data.cache_dir={cache_dir}", *overrides])

    return make


@pytest.mark.parametrize(
    "architecture",
    [
        ["encoder=transformer", "decoder=transformer", "train.learning_rate=0.003"],
        ["encoder=bridge", "decoder=lstm", "encoder.slots=4"],
    ],
)
def test_training_lowers_the_loss(compose_architecture, architecture, tmp_path):
    from plugmt.training.stages import train_joint

    sizes = [
        "encoder.d_model=32",
        "decoder.embed_dim=8" if "decoder=lstm" in architecture else "decoder.d_model=32",
    ]
    if "encoder=transformer" in architecture:
        sizes += ["encoder.layers=1", "decoder.layers=1", "encoder.ffn=64", "decoder.ffn=64"]
    cfg = compose_architecture(
        f"store={tmp_path}",
        *architecture,
        *sizes,
        "data.pairs=[en-fr]",
        "train.steps=60",
        "train.log_every=20",
        "train.batch_size=32",
    )
    encoder, decoders = train_joint(cfg, Store(tmp_path))
    losses = encoder.meta["training"]["loss"]
    assert len(losses) == 3
    assert losses[-1] < losses[0] - 0.4
    assert decoders[0].meta["lang"] == "fr"
