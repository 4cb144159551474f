"""A module's model card: README.md in its folder (and in its bundle), written from meta.json and
config.json when the module is stored, so whoever is handed a module can read what it is before
using it; `plugmt-registry show` prints it. The machine-readable part is meta.json itself. The
matrix cells a module is later scored on are not in its card: a stored module never changes (its
files are sealed), and the matrix lives with the run that scored it (matrix.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CARD = "README.md"
MAX_CARD_BYTES = 1 << 16


def card(meta: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """The card's Markdown. Fields a module was stored without read "unknown"."""
    role = "encoder" if meta.get("role") == "encoder" else "decoder"
    training = meta.get("training") or {}
    settings = meta.get("settings") or {}
    versions = meta.get("versions") or {}
    pairs = ", ".join("→".join(p) for p in meta.get("pairs") or []) or "unknown"
    corpus = meta.get("corpus") or {}
    lines = [f"# {role} {meta.get('id')}", ""]
    if role == "encoder":
        lines.append(f"- reads: {', '.join(meta.get('languages') or []) or 'unknown'}")
        if meta.get("space"):
            lines.append(
                f"- a student of encoder {meta.get('teacher')}: distilled into its thought space "
                f"({str(meta.get('space'))[:16]}…), so every decoder of that encoder reads it"
            )
    else:
        lines.append(f"- writes: {meta.get('lang')} (decoding at most {meta.get('max_len')} tokens)")
        lines.append(f"- reads the thoughts of encoder {meta.get('encoder_id')}")
    thought = config.get("thought") or {}
    lines += [
        f"- architecture: {config.get('architecture')}; thought {thought.get('kind')} of width "
        f"{thought.get('width')}; vocabulary {config.get('vocab_size')} pieces",
        f"- settings: {_pairs_text(config.get('settings') or {}, skip=('name',))}",
        f"- trained: stage {meta.get('stage')} on {pairs}, seed {meta.get('seed')}, corpus "
        f"{corpus.get('name', 'unknown')} ({meta.get('corpus_hash', 'hash unknown')})",
        f"- training settings: {_pairs_text(settings) if settings else 'unknown'}",
        f"- training run: {training.get('steps')} steps in {training.get('seconds')} s, stopped by "
        f"{training.get('stopped')}, converged: {training.get('converged')}; weights of step "
        f"{training.get('selected_step')} (best validation {training.get('selected_on')})",
    ]
    valid = (meta.get("metrics") or {}).get("valid_exact") or {}
    if valid:
        lines.append(f"- validation exact match: {_pairs_text(valid)}")
    lines += [
        f"- made by: {_pairs_text(versions) or 'unknown'}; plugmt commit {meta.get('commit') or 'unknown'}",
        f"- stored: {meta.get('created')}; weights fingerprint {str(meta.get('fingerprint'))[:16]}…",
        "",
        "Scored on a zero-shot matrix: see the matrix.json of the run that scored it (`plugmt-eval`).",
    ]
    return "\n".join(lines) + "\n"


def _pairs_text(values: Mapping[str, Any], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items()) if k not in skip)
