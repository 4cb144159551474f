"""Data parallelism: a step split over two devices makes the single-device update."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import plugmt
from plugmt.errors import PlugmtError


def package_env() -> dict[str, str]:
    """This checkout's plugmt first on the path of a child process, quiet, offline."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    root = str(Path(plugmt.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def test_a_mirrored_step_over_two_devices_matches_the_single_device_step(tmp_path):
    # Two logical CPUs must be configured before TensorFlow starts: a process of its own.
    script = Path(__file__).with_name("distributed_check.py")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        env=package_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["moved"] > 1e-2  # four clipped Adam steps did move the weights
    assert result["loss_gap"] < 1e-5
    assert result["weight_gap"] < 1e-5
    assert result["resume_gap"] < 1e-6  # mirrored variables checkpoint and resume too


def test_an_unknown_strategy_is_named(capsys):
    from plugmt.cli.hydra_app import CONFIG_PATH, check_overrides
    from plugmt.conf.schemas import register

    register()
    with pytest.raises(SystemExit) as stop:
        check_overrides(CONFIG_PATH, "config", ["train.strategy=horovod"])
    assert stop.value.code == 2
    line = capsys.readouterr().err.strip()
    assert line == "plugmt: error: train.strategy=horovod: not one of the choices " + (
        "(allowed: none, mirrored, multi_worker)"
    )


def test_a_broken_tf_config_is_named(monkeypatch):
    from plugmt.training.distribute import make_strategy

    monkeypatch.setenv("TF_CONFIG", "{cluster: ")
    with pytest.raises(PlugmtError, match="TF_CONFIG is not valid JSON"):
        make_strategy("multi_worker")
