"""Architectures from outside plugmt: a separately installed package registers an encoder through the
`plugmt.architectures` entry-point group and ships YAML presets through a Hydra search-path plugin,
with no edit to plugmt. The package is "installed" the way pip leaves one: its modules and a
`.dist-info` folder (METADATA, entry_points.txt) on the import path of a fresh process."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plugmt.errors import PlugmtError

PACKAGE = {
    "plugmt_tiny/__init__.py": '''
        """A tiny LSTM encoder from another package: registered by its entry point."""
        from dataclasses import dataclass

        from plugmt.encoders.lstm import LSTMEncoder
        from plugmt.registry import register_encoder


        @dataclass
        class TinyConfig:
            name: str = "tiny"
            embed_dim: int = 4
            units: int = 8
            reverse: bool = True


        @register_encoder("tiny", TinyConfig)
        class TinyEncoder(LSTMEncoder):
            """The LSTM encoder under another name and config."""
    ''',
    "plugmt_tiny/conf/__init__.py": "",
    "plugmt_tiny/conf/encoder/tiny_wide.yaml": """
        # A preset of the tiny encoder, found through the package's search-path plugin.
        defaults:
          - tiny
          - _self_
        units: 24
    """,
    "hydra_plugins/plugmt_tiny_searchpath/__init__.py": """
        from hydra.core.config_search_path import ConfigSearchPath
        from hydra.plugins.search_path_plugin import SearchPathPlugin


        class TinySearchPath(SearchPathPlugin):
            def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
                search_path.append(provider="plugmt-tiny", path="pkg://plugmt_tiny.conf")
    """,
    "plugmt_tiny-0.1.dist-info/METADATA": """
        Metadata-Version: 2.1
        Name: plugmt-tiny
        Version: 0.1
    """,
    "plugmt_tiny-0.1.dist-info/entry_points.txt": """
        [plugmt.architectures]
        tiny = plugmt_tiny
    """,
}

CHECK = """
import json
from hydra import compose, initialize_config_module
from plugmt.conf.schemas import register as register_schemas
from plugmt.registry import build_encoder, registered

register_schemas()
with initialize_config_module("plugmt.conf", version_base="1.3"):
    cfg = compose("config", overrides=["encoder=tiny_wide"])
encoder = build_encoder(cfg.encoder, 40)
print(json.dumps({
    "registered": sorted(registered("encoder")),
    "settings": {k: cfg.encoder[k] for k in ("name", "units", "embed_dim")},
    "width": encoder.thought_spec().width,
    "class": type(encoder).__module__,
}))
"""


def _install(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _python(root: Path, code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_a_package_of_its_own_registers_an_encoder_and_its_presets(tmp_path):
    import json

    _install(tmp_path, PACKAGE)
    done = _python(tmp_path, CHECK)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert "tiny" in found["registered"] and "lstm" in found["registered"]
    # The preset's own value, the rest from the package's dataclass.
    assert found["settings"] == {"name": "tiny", "units": 24, "embed_dim": 4}
    assert found["width"] == 24 and found["class"] == "plugmt_tiny"


def test_a_package_that_fails_to_import_is_one_line_naming_it(tmp_path):
    broken = {**PACKAGE, "plugmt_tiny/__init__.py": "raise RuntimeError('half installed')\n"}
    _install(tmp_path, broken)
    done = _python(tmp_path, "from plugmt.cli.apps import train_main; train_main()")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("plugmt: error: the architectures of 'plugmt_tiny'"), lines[-3:]
    assert "plugmt.architectures" in lines[-1] and "half installed" in lines[-1]


def test_a_name_registered_twice_or_a_class_of_the_wrong_base_is_refused():
    from plugmt.encoders.lstm import LSTMEncoder, LSTMEncoderConfig
    from plugmt.registry import register_decoder, register_encoder, registered

    before = registered("encoder")["lstm"]

    class Impostor(LSTMEncoder):
        """Another class claiming a registered name."""

    with pytest.raises(PlugmtError, match=r"registered twice, by plugmt\.encoders\.lstm\.LSTMEncoder and"):
        register_encoder("lstm", LSTMEncoderConfig)(Impostor)
    assert registered("encoder")["lstm"] == before  # the first one still answers

    @dataclasses.dataclass
    class OddConfig:
        name: str = "odd"

    with pytest.raises(PlugmtError, match="is not a LanguageDecoder"):
        register_decoder("odd", OddConfig)(Impostor)
    assert "odd" not in registered("decoder")
    with pytest.raises(PlugmtError, match="must default to 'other'"):
        register_encoder("other", OddConfig)(Impostor)
