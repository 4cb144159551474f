import shutil

import pytest

from plugmt.cli.hydra_app import compose_config
from plugmt.cli.spelling import accept_plus_experiment as _accept_plus_experiment
from plugmt.cli.store_cli import main
from plugmt.cli.translate import split_text_arguments as _split_text_arguments
from plugmt.errors import PlugmtError


def test_list_shows_every_module_with_its_language_and_pairs(trained, capsys):
    main(["--store", str(trained["store"].root), "list"])
    out = capsys.readouterr().out
    assert out.count("encoder  ") == 1 and out.count("decoder  ") == 4
    assert "es  plugin on de-es" in out


def test_verify_names_a_damaged_module_and_fails(trained, tmp_path, capsys):
    root = tmp_path / "store"
    shutil.copytree(trained["store"].root, root)
    victim = next(root.glob("decoders/*/fr/*"))
    (victim / "vocab.model").write_bytes(b"not a model")
    with pytest.raises(SystemExit) as stopped:
        main(["--store", str(root), "verify"])
    assert stopped.value.code == 1
    out = capsys.readouterr().out
    assert f"DAMAGED {victim.name}" in out and "vocab.model is truncated or modified" in out
    assert "4 of 5 modules intact" in out


def test_show_of_an_unknown_id_is_one_line(trained, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--store", str(trained["store"].root), "show", "nope"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith("plugmt: error: no module 'nope'")


def test_translate_arguments_split_into_overrides_and_sentences():
    overrides, texts = _split_text_arguments(["decoder=es", "May 5, 2026", "", "--cfg", "job", "-m", "+x=1"])
    assert overrides == ["decoder=es", "--cfg", "job", "-m", "+x=1"]
    assert texts == ["May 5, 2026", ""]


def test_plus_experiment_is_accepted_like_experiment():
    assert _accept_plus_experiment(["+experiment=tutorial", "a=1"]) == ["experiment=tutorial", "a=1"]


def test_plugin_train_takes_any_train_key_with_or_without_plus(compose):
    # The default config's plugin.train lacks `steps`; the Multi30k preset's has it: both spellings
    # must work on both (Hydra alone refuses one of them on each).
    for spelled in ("plugin.train.steps=7", "+plugin.train.steps=7"):
        assert compose(spelled).plugin.train.steps == 7
        preset = compose_config("config", ["experiment=multi30k", "data.path=x", spelled])
        assert preset.plugin.train.steps == 7


def test_an_unknown_plugin_train_key_names_the_nearest_setting(compose):
    with pytest.raises(
        PlugmtError, match=r"^plugin.train.stepz: not a train setting \(did you mean plugin.train.steps\?"
    ):
        compose("plugin.train.stepz=3")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stopped:
        code = int(stopped.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_import_show_and_remove_through_the_command(trained, tmp_path, capsys):
    source, fresh = str(trained["store"].root), str(tmp_path / "fresh")
    decoder_id, encoder_id = trained["plugged"].id, trained["encoder"].id
    bundle = tmp_path / "es.tar.gz"
    assert run_cli(capsys, "--store", source, "export", decoder_id, str(bundle))[0] == 0

    code, out, err = run_cli(capsys, "--store", fresh, "import", str(bundle))
    assert code == 0 and f"imported decoder {decoder_id}" in out
    assert f"its encoder {encoder_id} is not in this store" in err
    code, out, err = run_cli(capsys, "--store", fresh, "show", decoder_id, "--json")
    assert code == 0 and f'"encoder_id": "{encoder_id}"' in out
    assert f"note: its encoder {encoder_id} is not in this store" in err

    run_cli(capsys, "--store", source, "export", encoder_id, str(tmp_path / "enc.tar.gz"))
    assert run_cli(capsys, "--store", fresh, "import", str(tmp_path / "enc.tar.gz"))[0] == 0
    assert run_cli(capsys, "--store", fresh, "show", decoder_id)[2] == ""

    code, _, err = run_cli(capsys, "--store", fresh, "remove", encoder_id)
    assert code == 2 and err.startswith(f"plugmt: error: encoder {encoder_id} has 1 stored decoder(s)")
    assert "--force" in err and err.count("\n") == 1
    assert run_cli(capsys, "--store", fresh, "remove", decoder_id)[0] == 0
    assert run_cli(capsys, "--store", fresh, "remove", encoder_id)[0] == 0
    assert [p.name for p in (tmp_path / "fresh").rglob("*") if p.is_file()] == [".lock"]


def test_remove_force_orphans_the_decoders(trained, tmp_path, capsys):
    root = tmp_path / "store"
    shutil.copytree(trained["store"].root, root)
    encoder_id = trained["encoder"].id
    assert run_cli(capsys, "--store", str(root), "remove", "--force", encoder_id)[0] == 0
    code, out, _ = run_cli(capsys, "--store", str(root), "list")
    assert code == 0 and out.count("encoder  ") == 0 and out.count("decoder  ") == 4
    assert not list(root.rglob(".removed-*"))


def test_import_of_a_hostile_bundle_is_one_error_line(tmp_path, capsys):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really")
    code, _, err = run_cli(capsys, "--store", str(tmp_path / "s"), "import", str(junk))
    assert code == 2 and err.startswith("plugmt: error: bundle junk.tar.gz") and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_show_prints_the_module_card(trained, capsys):
    """What a person reads before plugging in a decoder someone handed them."""
    import json

    store, decoder = str(trained["store"].root), trained["plugged"]
    code, out, _ = run_cli(capsys, "--store", store, "show", decoder.id)
    assert code == 0 and out.startswith(f"# decoder {decoder.id}\n")
    assert (decoder.path / "README.md").read_text() == out  # the card travels with the module
    meta = json.loads(run_cli(capsys, "--store", store, "show", decoder.id, "--json")[1])
    assert f"- writes: es (decoding at most {meta['max_len']} tokens)" in out
    assert f"reads the thoughts of encoder {trained['encoder'].id}" in out
    assert "- trained: stage plugin on de→es, seed 0, corpus phrasebook (phrasebook:de,es:" in out
    # Every train.* setting, the versions and the commit are recorded and shown.
    assert meta["settings"]["thought_noise"] == 0.2 and "thought_noise 0.2" in out
    assert meta["settings"]["mode"] == "plugin" and meta["versions"]["plugmt"] in out
    assert meta["corpus_hash"] in out and "plugmt commit " in out
    assert "- validation exact match: de-es " in out
