import keras
import numpy as np

from plugmt.training.monitor import Monitor, Validation


def scripted(scores):
    """A validate function returning the given chrF at successive calls, and the layer it watches."""
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    calls = iter(scores)

    def validate(step):
        return Validation(step, {("en", "de"): 0.0}, {("en", "de"): next(calls)})

    return layer, validate


def test_the_best_validated_weights_come_back_and_patience_stops_training(tmp_path):
    layer, validate = scripted([10.0, 30.0, 20.0, 25.0, 5.0])
    monitor = Monitor(
        validate, {"decoder": layer}, every=100, patience=2, tensorboard=str(tmp_path / "tb"), select="chrf"
    )
    kept = None
    stopped_at = None
    for step in range(100, 600, 100):
        layer.set_weights([np.full((3, 2), step, "float32"), np.zeros(2, "float32")])
        if step == 200:
            kept = [w.copy() for w in layer.get_weights()]
        if monitor.check(step):
            stopped_at = step
            break
    assert stopped_at == 400  # 300 and 400 brought no gain over 200: patience 2 is spent
    assert monitor.restore_best() == 200
    assert np.array_equal(layer.get_weights()[0], kept[0])
    assert monitor.record()["validations"] == [[100, 10.0], [200, 30.0], [300, 20.0], [400, 25.0]]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_without_patience_training_never_stops_early_and_due_follows_every():
    layer, validate = scripted([3.0, 2.0, 1.0])
    monitor = Monitor(validate, {"decoder": layer}, every=50)
    assert [monitor.due(s) for s in (49, 50, 100)] == [False, True, True]
    assert not any(monitor.check(s) for s in (50, 100, 150))
    assert Monitor(validate, {"decoder": layer}).due(100) is False


def test_a_restored_monitor_brings_back_the_best_of_the_run_before_the_restart():
    """What a checkpoint keeps (state + best arrays) is enough to select across a kill."""
    layer, validate = scripted([10.0, 30.0, 20.0, 5.0])
    monitor = Monitor(validate, {"decoder": layer}, every=100, patience=5, select="chrf")
    for step in (100, 200, 300):
        layer.set_weights([np.full((3, 2), step, "float32"), np.zeros(2, "float32")])
        monitor.check(step)
    state, arrays = monitor.state(), monitor.best_arrays()
    _, fresh_validate = scripted([5.0])
    resumed = Monitor(fresh_validate, {"decoder": layer}, every=100, patience=5, select="chrf")
    resumed.restore(state, arrays)
    layer.set_weights([np.full((3, 2), 400, "float32"), np.zeros(2, "float32")])
    resumed.check(400)
    assert resumed.restore_best() == 200
    assert np.array_equal(layer.get_weights()[0], np.full((3, 2), 200, "float32"))
    assert resumed.record()["validations"] == [[100, 10.0], [200, 30.0], [300, 20.0], [400, 5.0]]


def test_by_default_the_lowest_loss_is_kept_ties_go_to_later_weights_and_small_gains_do_not_count():
    """Exact match and chrF saturate on easy data (all 100.0 here); the loss keeps ranking weights."""
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    losses = iter([0.5, 0.1, 0.1, 0.0995, 0.0990, 0.2])

    def validate(step):
        return Validation(step, {("pt", "es"): 1.0}, {("pt", "es"): 100.0}, {("pt", "es"): next(losses)})

    monitor = Monitor(validate, {"decoder": layer}, every=100, patience=3)
    stopped, best = [], []
    for step in range(100, 700, 100):
        layer.set_weights([np.full((3, 2), step, "float32"), np.zeros(2, "float32")])
        stopped.append(monitor.check(step))
        best.append(monitor.best.step)
    assert best == [100, 200, 300, 400, 500, 500]
    # 300 ties 200 and is kept (later); 400 and 500 gain < 1% over 200's loss: no gain for patience.
    assert stopped == [False, False, False, False, True, True]
    assert monitor.restore_best() == 500
    assert np.array_equal(layer.get_weights()[0], np.full((3, 2), 500, "float32"))
    assert monitor.record()["valid_loss"] == 0.099 and monitor.record()["selected_on"] == "loss"
    # Every validation's mean exact match and loss, for the stage's curves figure.
    assert monitor.record()["validation_loss"] == [
        [100, 0.5],
        [200, 0.1],
        [300, 0.1],
        [400, 0.0995],
        [500, 0.099],
        [600, 0.2],
    ]
    assert monitor.record()["validation_exact"] == [[step, 1.0] for step in range(100, 700, 100)]


def by_distance(layer, target: float):
    """A validate function scoring the layer's weights by closeness to `target` (chrF 100 there)."""

    def validate(step):
        return Validation(
            step, {("en", "de"): 0.0}, {("en", "de"): 100.0 - abs(layer.get_weights()[0][0, 0] - target)}
        )

    return validate


def weights_at(layer, value: float) -> None:
    layer.set_weights([np.full((3, 2), value, "float32"), np.zeros(2, "float32")])


def test_the_average_of_the_last_weights_is_stored_only_when_it_validates_better():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    # Weights 120 then 280 around the optimum 200: their mean (200) beats either one, and is kept.
    monitor = Monitor(by_distance(layer, 200.0), {"decoder": layer}, every=100, select="chrf", average_last=2)
    for step, value in ((100, 0.0), (200, 120.0), (300, 280.0)):
        weights_at(layer, value)
        monitor.check(step)
    assert monitor.restore_best() == 300
    assert layer.get_weights()[0][0, 0] == 200.0
    assert monitor.record()["averaged_steps"] == [200, 300] and monitor.record()["valid_chrf"] == 100.0
    # Weights 200 then 400: the mean (300) is worse than step 200's, which comes back.
    monitor = Monitor(by_distance(layer, 200.0), {"decoder": layer}, every=100, select="chrf", average_last=2)
    for step, value in ((100, 200.0), (200, 400.0)):
        weights_at(layer, value)
        monitor.check(step)
    assert monitor.restore_best() == 100
    assert layer.get_weights()[0][0, 0] == 200.0
    assert monitor.record()["averaged_steps"] is None


def test_a_resumed_monitor_averages_weights_validated_before_the_restart():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    monitor = Monitor(by_distance(layer, 200.0), {"decoder": layer}, every=100, select="chrf", average_last=3)
    for step, value in ((100, 0.0), (200, 100.0)):
        weights_at(layer, value)
        monitor.check(step)
    state, best, recent = monitor.state(), monitor.best_arrays(), monitor.recent_arrays()
    resumed = Monitor(by_distance(layer, 200.0), {"decoder": layer}, every=100, select="chrf", average_last=3)
    resumed.restore(state, best, recent)
    weights_at(layer, 500.0)
    resumed.check(300)
    assert resumed.restore_best() == 300  # the mean of 0, 100 and 500 is 200
    assert layer.get_weights()[0][0, 0] == 200.0 and resumed.record()["averaged_steps"] == [100, 200, 300]


def test_unseen_directions_are_scored_beside_their_pivots_and_never_enter_the_score():
    from plugmt.training.validation import pairs_validator, unseen_directions

    pairs = [("en", "de"), ("de", "en"), ("en", "fr"), ("fr", "en"), ("de", "de")]
    unseen = unseen_directions(pairs, ["de", "en", "fr"])
    assert unseen == {("de", "fr"): ["de", "en", "fr"], ("fr", "de"): ["fr", "en", "de"]}
    assert unseen_directions([("en", "fr")], ["fr", "es"]) == {("en", "es"): None}
    # Meaning i is written "<lang>i"; the fr decoder garbles German sources, every other hop is exact.
    texts = {lang: [f"{lang}{i} words here" for i in range(6)] for lang in ("en", "de", "fr")}

    def decoder(tgt):
        def pipeline(sources):
            if tgt == "fr" and sources[0].startswith("de"):
                return ["zzz"] * len(sources)
            return [s.replace(s[:2], tgt, 1) for s in sources]

        return pipeline

    validate = pairs_validator({t: decoder(t) for t in texts}, texts, texts, pairs, unseen)
    result = validate(7)
    assert result.unseen[("fr", "de")] == (100.0, 100.0)
    chrf, pivot = result.unseen[("de", "fr")]
    assert chrf < 10.0 and pivot == 100.0  # the pivot goes de->en->fr, around the garbling hop
    assert result.score == 100.0  # the trained directions only
    assert "· unseen de-fr" in result.summary() and "(pivot 100.0)" in result.summary()
    again = Validation.from_json(result.to_json())
    assert again.unseen == result.unseen and again.score == result.score


def test_watched_directions_do_not_decide_which_weights_are_kept():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    scores = iter([(30.0, 10.0), (20.0, 90.0)])  # (trained chrF, unseen chrF) at steps 100, 200

    def validate(step):
        trained, unseen = next(scores)
        return Validation(
            step, {("en", "de"): 0.0}, {("en", "de"): trained}, {}, {("de", "fr"): (unseen, None)}
        )

    monitor = Monitor(validate, {"decoder": layer}, every=100, select="chrf")
    for step in (100, 200):
        monitor.check(step)
    assert monitor.restore_best() == 100
    assert monitor.record()["validation_unseen"] == [
        [100, [["de", "fr", 10.0, None]]],
        [200, [["de", "fr", 90.0, None]]],
    ]


def test_the_score_is_the_translating_directions_and_identities_do_not_pick_the_kept_step():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    # (en-de chrF, de-de chrF) at steps 100, 200: the identity rises while the translation falls.
    scores = iter([(40.0, 60.0), (30.0, 95.0)])

    def validate(step):
        de, same = next(scores)
        chrf = {("en", "de"): de, ("de", "de"): same}
        return Validation(step, dict.fromkeys(chrf, 0.0), chrf)

    monitor = Monitor(validate, {"decoder": layer}, every=100, select="chrf")
    for step in (100, 200):
        monitor.check(step)
    assert monitor.restore_best() == 100  # with x -> x in the mean, step 200 (62.5 > 50.0)
    only_identities = Validation(
        1, {("de", "de"): 0.0, ("en", "en"): 0.0}, {("de", "de"): 80.0, ("en", "en"): 90.0}
    )
    assert only_identities.score == 85.0
