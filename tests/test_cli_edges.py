"""The commands' edges: free text is never configuration, settings are checked before work, the
registry takes --store on either side, `python -m plugmt`, --version, and the Python API's types."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from plugmt.errors import PlugmtError

ENV = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
HOSTILE = ["Price = 5 euros", "-5 degrees", "a=b", "-h", "--", "${oc.env:HOME}", "[x", ""]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), input=stdin, capture_output=True, env=ENV, timeout=300)


def _sources(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return [json.loads(line)["source"] for line in result.stdout.decode().splitlines()]


# --------------------------------------------------------------------------- free text


def test_arguments_after_double_dash_are_sentences_exactly_as_given():
    from plugmt.cli.translate import split_text_arguments as _split_text_arguments

    overrides, texts = _split_text_arguments(["decoder=es", "-m", "Hello", "--", *HOSTILE])
    assert overrides == ["decoder=es", "-m"]
    assert texts == ["Hello", *HOSTILE]


@pytest.mark.parametrize("argument", ["Price = 5 euros", "-5 degrees", "a=b", "--nosuch"])
def test_an_argument_that_is_neither_a_setting_nor_plain_text_shows_the_double_dash_form(argument):
    from plugmt.cli.translate import split_text_arguments as _split_text_arguments

    with pytest.raises(PlugmtError) as refused:
        _split_text_arguments(["store=s", "decoder=es", argument])
    assert "put" in str(refused.value) and "plugmt-translate store=s decoder=es -- " in str(refused.value)


def test_translate_takes_sentences_after_double_dash_and_from_a_file(trained, tmp_path):
    store = f"store={trained['store'].root}"
    given = run("plugmt-translate", store, "decoder=fr", "format=jsonl", "--", *HOSTILE)
    assert _sources(given) == HOSTILE
    lines = tmp_path / "sentences.txt"
    lines.write_bytes("\ufeffMay 5, 2000\n-5 degrees\na=b\n\n".encode())
    from_file = run("plugmt-translate", store, "decoder=fr", "format=jsonl", f"input={lines}")
    assert _sources(from_file) == ["May 5, 2000", "-5 degrees", "a=b", ""]


def test_stdin_that_is_not_utf8_names_the_line(trained):
    result = run(
        "plugmt-translate", f"store={trained['store'].root}", "decoder=fr", stdin=b"un\ndeux\n\xff trois\n"
    )
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        "plugmt: error: stdin is not valid UTF-8 at line 3 (byte 1); give UTF-8 text, one sentence a line"
    )


# --------------------------------------------------------------------------- settings


def test_slot_by_slot_alignment_is_refused_before_training_only_for_encoders_known_to_lack_slots(compose):
    """plugmt's own encoders are known by the kind of thought they make; another package's encoder
    (not known before it is built) is left to the joint step, which refuses it by its thought."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from plugmt.cli import checks as settings

    with initialize_config_module("plugmt.conf", version_base="1.3"):
        cfg = hydra_compose("config", ["model=bridge", "train.align_per_slot=true", "store=s"])
    settings.check_main(cfg, ["joint"])
    cfg.encoder.name = "someone_elses_slots"
    settings.check_main(cfg, ["joint"])
    for own in ("lstm", "transformer"):
        cfg.encoder.name = own
        with pytest.raises(PlugmtError, match=f"align_per_slot=true .* encoder={own} has no fixed slots"):
            settings.check_main(cfg, ["joint"])
    cfg.train.align_per_slot = False
    cfg.train.slot_diversity = 1.0
    cfg.encoder.name = "bridge"
    settings.check_main(cfg, ["joint"])
    settings.check_main(cfg, ["plugin"])  # a plug-in stage trains no encoder
    for own in ("lstm", "transformer"):
        cfg.encoder.name = own
        settings.check_main(cfg, ["plugin"])
        with pytest.raises(PlugmtError, match=f"slot_diversity spreads .* but encoder={own} has no slots"):
            settings.check_main(cfg, ["joint"])


def test_the_shipped_configs_pass_their_own_checks(compose):
    """No false refusals: every experiment and model preset as composed passes every check."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from plugmt.cli import checks as settings

    presets = ([], ["experiment=quick"], ["experiment=study", "model=transformer"], ["model=bridge"])
    with initialize_config_module("plugmt.conf", version_base="1.3"):
        for overrides in presets:
            cfg = hydra_compose("config", [*overrides, "store=s"])  # some presets' store names the run folder
            settings.check_main(cfg, ["joint", "plugin", "eval"])
    for experiment in ("tutorial", "multi30k", "multi30k_full", "phrasebook_full"):
        with initialize_config_module("plugmt.conf", version_base="1.3"):
            cfg = hydra_compose("config", [f"experiment={experiment}", "store=s", "train.tensorboard=tb"])
        settings.check_main(cfg, ["joint", "plugin", "eval"])
    with initialize_config_module("plugmt.cli.conf", version_base="1.3"):
        settings.check_group(hydra_compose("translate", overrides=["text=[a,b]"]), settings.TRANSLATE)
        settings.check_group(hydra_compose("export", overrides=["out=x"]), settings.EXPORT)


@pytest.mark.parametrize(
    ("key", "value"),
    [("batch_size", 0), ("steps", 0), ("epochs", -1), ("epochs", 0), ("log_every", 0), ("patience", 0)],
)
def test_each_training_bound_is_checked(key, value):
    from plugmt.cli import checks as settings

    with pytest.raises(PlugmtError, match=rf"^train\.{key}={value}: too small \(allowed: "):
        settings.check_group({key: value}, settings.TRAIN, "train.")


# --------------------------------------------------------------------------- registry, -m, --version


def test_registry_takes_store_before_or_after_the_command(trained, capsys, tmp_path):
    from plugmt.cli.store_cli import main

    root = str(trained["store"].root)
    main(["--store", root, "list"])
    before = capsys.readouterr().out
    main(["list", "--store", root])
    assert capsys.readouterr().out == before and before.count("\n") >= 4
    (tmp_path / "empty").mkdir()
    main(["list", "--store", str(tmp_path / "empty")])
    said = capsys.readouterr()
    assert said.out == "" and said.err.startswith("plugmt-registry: the store ") and "is empty" in said.err
    with pytest.raises(SystemExit) as stopped:
        main(["list", "--store", str(tmp_path / "nowhere")])
    assert stopped.value.code == 2 and capsys.readouterr().err.startswith("plugmt: error: no store at ")


def test_version_does_not_start_tensorflow():
    code = (
        "import sys; sys.argv = ['plugmt-run', '--version']\n"
        "from plugmt.cli.apps import run_main; run_main()\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'"
    )
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("plugmt-run (plugmt) 0.1.0; TensorFlow ")


def test_python_dash_m_plugmt_runs_each_command(trained):
    listed = run(sys.executable, "-m", "plugmt", "registry", "list", "--store", str(trained["store"].root))
    assert listed.returncode == 0 and listed.stdout.decode().startswith("encoder  ")
    for command in ("study", "registry"):
        shown = run(sys.executable, "-m", "plugmt", command, "--version")
        assert shown.stdout.decode().startswith(f"plugmt-{command} (plugmt) 0.1.0"), shown.stderr
    unknown = run(sys.executable, "-m", "plugmt", "nosuch")
    assert unknown.returncode == 2 and unknown.stderr.decode().startswith("plugmt: error: unknown command")


# --------------------------------------------------------------------------- the Python API


def test_translate_returns_a_str_for_a_str_and_a_list_for_a_list(trained):
    from plugmt import Translator

    translator = Translator.open(trained["store"])
    one = translator.translate("Monday, January 3, 2000", decoder="fr")
    many = translator.translate(["Monday, January 3, 2000", "5 mai 2000"], decoder="fr")
    assert isinstance(one, str) and isinstance(many, list) and len(many) == 2
    assert one == many[0]
    assert translator.translate(("Monday, January 3, 2000",), decoder="fr") == [one]


def test_a_sweep_job_refused_is_recorded_and_the_sweep_goes_on(trained, cache_dir, tmp_path):
    """Job #0's seed is refused in one line (in its log too); job #1 still runs; the sweep exits 2."""
    from conftest import TINY

    result = run(
        "plugmt-eval",
        "-m",
        *TINY,
        f"data.cache_dir={cache_dir}",
        f"store={trained['store'].root}",
        "seed=abc,0",
        f"hydra.sweep.dir={tmp_path}",
    )
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("plugmt: error: 1 job(s) of the sweep failed")
    assert "seed=abc: the seed must be" in (tmp_path / "0" / "plugmt.log").read_text()
    assert (tmp_path / "1" / "matrix.json").is_file()


def test_every_value_of_a_sweep_is_composed_before_hydra_runs(monkeypatch, capsys):
    """Under -m a bad value anywhere in a sweep, and a bad key beside --cfg, is one line, exit 2."""
    from plugmt.cli import hydra_app as cli
    from plugmt.conf.schemas import register as register_schemas

    register_schemas()  # the schemas composing needs, as the console scripts load them

    variants = cli.override_variants(["-m", "seed=0,1", "model=lstm,bridge", "hydra.launcher.n_jobs=2"])
    assert variants == [
        ["seed=0", "model=lstm"],
        ["seed=1", "model=lstm"],
        ["seed=0", "model=bridge"],
    ]
    assert cli.override_variants(["--cfg", "job", "seed=4"]) == [["seed=4"]]
    assert cli.override_variants(["--nosuch-flag", "seed=4"]) is None  # Hydra's to answer
    cases = (
        (["-m", "seed=0,1", "model=lstm,nosuch"], "model/nosuch"),
        (["--cfg", "job", "encoder.unitz=3"], "unitz"),
    )
    for argv, named in cases:
        with pytest.raises(SystemExit) as stop:
            cli.check_overrides(cli.CONFIG_PATH, "config", argv)
        assert stop.value.code == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("plugmt: error: ") and named in lines[0], lines


@pytest.mark.parametrize(
    ("main", "argv", "shown"),
    [
        ("translate_main", ["plugmt-translate", "--help"], "usage: plugmt-translate decoder=<lang or id>"),
        ("run_main", ["plugmt-run", "--help"], "usage: plugmt-run [group=option ...]"),
        ("train_main", ["plugmt-train", "--cfg", "job", "encoder=transformer"], "name: transformer"),
    ],
)
def test_help_and_the_composed_config_start_no_tensorflow(main, argv, shown):
    """--help (with a usage line) and --cfg answer without TensorFlow's start-up: the architectures'
    settings live apart from their layers; no internal config group is offered."""
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('tensorflow' in sys.modules, file=sys.stderr))\n"
        f"sys.argv = {argv!r}\n"
        f"from plugmt.cli.apps import {main}\n"
        f"{main}()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert shown in done.stdout and "apps:" not in done.stdout, done.stdout[:500]
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr[-500:]


def test_a_refused_run_leaves_no_empty_run_folder(tmp_path):
    result = subprocess.run(
        ["plugmt-train", "data=files", f"data.path={tmp_path}/nowhere"],
        cwd=tmp_path,
        capture_output=True,
        env=ENV,
        timeout=300,
    )
    assert result.returncode == 2 and b"is not a folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no outputs/<date>/<time>/


def test_stdin_streams_one_line_in_one_line_out(trained):
    """A process that writes one line, reads its translation, then writes the next: each answer
    comes while stdin is still open, so a pipe or a terminal is served line by line."""
    import select

    process = subprocess.Popen(
        ["plugmt-translate", f"store={trained['store'].root}", "decoder=fr", "format=jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    answers = []
    try:
        for sentence in ("May 5, 2000", "", "June 7, 2001"):
            process.stdin.write(f"{sentence}\n".encode())
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 120)
            assert ready, "no translation while stdin was still open"
            answers.append(json.loads(process.stdout.readline()))
        process.stdin.close()
        assert process.wait(timeout=60) == 0, process.stderr.read()[-2000:]
    finally:
        process.kill()
    assert [a["source"] for a in answers] == ["May 5, 2000", "", "June 7, 2001"]
    assert answers[1]["translation"] == "" and process.stdout.read() == b""


def test_translate_completion_offers_its_own_settings_only():
    """Tab completion of plugmt-translate: its settings, no training group, no schema, no refusal."""
    done = subprocess.run(
        ["plugmt-translate", "-sc", "query=bash"],
        capture_output=True,
        text=True,
        env={**ENV, "COMP_LINE": "plugmt-translate ", "COMP_POINT": "17"},
        timeout=120,
    )
    offered = done.stdout.split()
    assert done.returncode == 0 and "decoder=" in offered and "beam_size=" in offered, done.stderr
    assert not [word for word in offered if word.startswith(("train", "eval", "translate_schema", "apps"))]


def test_the_whole_phrasebook_preset_is_the_command_its_results_were_measured_with():
    """experiment=phrasebook_full composes to what the long command of docs/RESULTS.md (sessions 20-21)
    spelled out, so a result measured with one repeats with the other."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from omegaconf import OmegaConf

    spelled = "model=bridge data=phrasebook_full data.vocab_type=bpe data.vocab_size=500 "
    spelled += "data.source_vocab_size=2000 data.isolate=. data.zero_shot=[en-sv] plugin.lang=sv "
    spelled += "plugin.pairs=[en-sv] train.max_seconds=null +plugin.train.max_seconds=null train.epochs=4 "
    spelled += "train.decay=cosine train.validate_every=1000 train.align_per_slot=true train.temperature=3 "
    spelled += "plugin.train.epochs=4 train.align_weight=3"
    with initialize_config_module("plugmt.conf", version_base="1.3"):
        preset = hydra_compose("config", ["experiment=phrasebook_full", "store=s"])
        long = hydra_compose("config", [*spelled.split(), "store=s"])
    assert OmegaConf.to_container(preset) == OmegaConf.to_container(long)
