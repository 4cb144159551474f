import shutil

import pytest

from plugmt.workflows.cli import _accept_plus_experiment, _split_text_arguments
from plugmt.workflows.registry_cli import main


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
