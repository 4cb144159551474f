"""A training run SIGKILLed again and again, re-run each time, stores what an unbroken run stores."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from conftest import TINY
from test_distribute import package_env
from test_resume import largest_difference, stored_weights

from plugmt.storage import Store
from plugmt.training.checkpoints import RUNS

STEPS = 250
FAULT = [f"train.steps={STEPS}", "train.checkpoint_every=7", "train.log_every=5", "data.pairs=[en-fr]"]
KILLS = 2  # inside training, placed so the run cannot finish first (few: each is a process start-up)
ANYWHERE = 1  # then kills that may land in validation, the module writes or the clean-up
STEP_LINE = re.compile(r"joint step (\d+)/")


class Attempt:
    """One `plugmt-train` process, its stderr lines read as they come, with their arrival times."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        command = [sys.executable, "-c", "from plugmt.cli.apps import train_main; train_main()"]
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            env=package_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line))

    def steps_seen(self) -> list[tuple[float, int]]:
        return [(t, int(m.group(1))) for t, line in list(self.lines) if (m := STEP_LINE.search(line))]

    def text(self) -> str:
        self.reader.join(timeout=10)
        return "".join(line for _, line in self.lines)

    def wait_for_steps(self, count: int, timeout: float = 180) -> list[tuple[float, int]]:
        """The first `count` progress lines, or fewer if the process ended first."""
        deadline = time.monotonic() + timeout
        while len(self.steps_seen()) < count and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.steps_seen()

    def wait_for_step(self, step: int, timeout: float = 180) -> None:
        """Until a progress line at `step` or later arrives, or the process ends."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if any(n >= step for _, n in self.steps_seen()):
                return
            time.sleep(0.02)

    def kill(self) -> bool:
        """SIGKILL it; False if it had already ended by itself."""
        if self.process.poll() is not None:
            return False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return True


def test_a_run_killed_at_random_moments_stores_the_uninterrupted_result(compose, cache_dir, tmp_path):
    from plugmt.training.stages import train_joint

    reference = tmp_path / "reference"
    train_joint(compose(f"store={reference}", *FAULT), Store(reference))
    store = tmp_path / "killed"
    args = [*TINY, f"data.cache_dir={cache_dir}", *FAULT, f"store={store}", f"hydra.run.dir={tmp_path}/hydra"]

    rng = random.Random(0)
    kills, resumes, finished = 0, 0, None
    for attempt_number in range(KILLS + ANYWHERE + 1):
        attempt = Attempt(args, tmp_path)
        if attempt_number == KILLS + ANYWHERE:  # the last attempt runs to its end
            attempt.process.wait(timeout=300)
        else:
            # Two progress lines give this process's speed, hence how long its training still runs.
            seen = attempt.wait_for_steps(2)
            if len(seen) == 2:
                (t1, n1), (t2, n2) = seen
                if kills < KILLS:
                    # Inside training: at a random step of the first part of what is left (so the run
                    # cannot finish first, whatever its speed), then a random moment of the next steps.
                    attempt.wait_for_step(rng.randint(n2 + 1, n2 + (STEPS - n2) // (KILLS - kills + 1)))
                    time.sleep(rng.uniform(0, t2 - t1))
                else:  # anywhere: in training, validation, the module writes or the clean-up
                    time.sleep(rng.uniform(0, (STEPS - n2) * (t2 - t1) / max(n2 - n1, 1) + 3.0))
            killed = attempt.kill()
            kills += killed
            if not killed:
                attempt.process.wait()
        output = attempt.text()
        resumes += "resuming joint from step" in output
        if attempt.process.returncode == 0:
            finished = output
            break
        assert attempt.process.returncode == -signal.SIGKILL, output[-3000:]

    assert finished is not None, "no run finished"
    assert kills >= KILLS, f"only {kills} kills landed"
    assert resumes >= KILLS  # every kill came after a checkpoint; each re-run went on from it
    weights, losses = stored_weights(Store(store))  # verifies every stored module's checksums
    expected, expected_losses = stored_weights(Store(reference))
    assert largest_difference(weights, expected) < 1e-5
    np.testing.assert_allclose(losses, expected_losses, atol=1e-4)
    assert not (store / RUNS).exists()
    gap = largest_difference(weights, expected)
    print(f"\n{kills} kills, {resumes} resumes, largest weight difference {gap:.2e}")
