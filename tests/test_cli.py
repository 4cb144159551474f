"""The console scripts as a user runs them: exit codes, one-line errors, stdout."""

import json
import os
import subprocess
import sys

import pytest
from conftest import TINY

ENV = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def run(*args: str, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def run_store(tmp_path_factory, cache_dir):
    """plugmt-run end to end on the tiny settings: joint, plug-in, eval."""
    root = tmp_path_factory.mktemp("cli")
    result = run(
        "plugmt-run",
        *TINY,
        f"store={root / 'store'}",
        f"eval.out={root / 'eval'}",
        f"data.cache_dir={cache_dir}",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_plugmt_run_prints_the_matrix_and_writes_its_files(run_store):
    root, result = run_store
    assert "| src→tgt | kind |" in result.stdout
    assert "| en→es | plugged |" in result.stdout
    assert "| de→fr | zero-shot |" in result.stdout
    assert {p.name for p in (root / "eval").iterdir()} == {
        "matrix.json",
        "matrix.md",
        "matrix.png",
        "translations",
    }
    assert (root / "eval" / "translations" / "de-fr.txt").is_file()
    # Each training stage's curves, beside plugmt.log in the Hydra run folder.
    curves = {p.name for p in root.glob("outputs/*/*/curves-*.png")}
    assert curves == {"curves-joint.png", "curves-plugin-es.png"}
    assert "joint done" in result.stderr and "plugin done" in result.stderr
    assert "cuInit" not in result.stderr and "cpu_feature_guard" not in result.stderr


def test_translate_swaps_decoders_by_name(run_store):
    root, _ = run_store
    store = f"store={root / 'store'}"
    fr = run("plugmt-translate", store, "decoder=fr", "Monday, January 3, 2000", "")
    de = run("plugmt-translate", store, "decoder=de", "Monday, January 3, 2000", "")
    assert fr.returncode == 0 and de.returncode == 0, fr.stderr + de.stderr
    assert fr.stdout.count("\n") == 2 and de.stdout.count("\n") == 2  # the empty line stays
    assert fr.stdout.endswith("\n\n")


def test_translate_reads_stdin_and_survives_unseen_characters(run_store):
    root, _ = run_store
    result = run(
        "plugmt-translate",
        f"store={root / 'store'}",
        "decoder=es",
        "format=jsonl",
        stdin="3 janvier 2000\n☃ 漢字\n\n",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in records] == ["3 janvier 2000", "☃ 漢字", ""]
    assert records[2]["translation"] == "" and records[0]["decoder"].startswith("es-")


def test_the_package_imports_without_tensorflow():
    code = "import sys, plugmt; assert 'tensorflow' not in sys.modules; print(plugmt.__version__)"
    assert run(sys.executable, "-c", code).returncode == 0


def test_translate_with_beam_search(run_store):
    root, _ = run_store
    result = run(
        "plugmt-translate",
        f"store={root / 'store'}",
        "decoder=en",
        "beam_size=3",
        "length_penalty=0.6",
        "3 janvier 2000",
        "",
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split("\n")) == 3 and result.stdout.endswith("\n\n")


def test_parallel_plugin_jobs_against_one_encoder_all_register(run_store):
    """Two decoders trained at once by Hydra's joblib launcher (separate processes), one store."""
    from plugmt.storage import Store

    root, _ = run_store
    store = Store(root / "store")
    before = {d.id for d in store.decoders()}
    result = run(
        "plugmt-train",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *[o for o in TINY if not o.startswith("data.pairs")],
        f"store={root / 'store'}",
        "train.mode=plugin",
        "decoder.lang=es,fr",
        "data.pairs=[de-${decoder.lang}]",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    new = [d for d in Store(root / "store").decoders() if d.id not in before]
    assert sorted(d.meta["lang"] for d in new) == ["es", "fr"]
    for module in new:
        store.verify(module)
