"""Metrics and their uncertainty: exact match with its Wilson interval, sacrebleu's chrF and BLEU with
sacrebleu's bootstrap interval, and its paired bootstrap of a cell against its pivot. Training's
validation uses `score` too."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sacrebleu
from sacrebleu.significance import PairedTest

_CHRF = sacrebleu.metrics.CHRF()
# BLEU's tokenizer by target language: sacrebleu's default (13a) splits no Chinese, Japanese or Korean
# words, so a sentence there is one "word". Japanese and Korean use MeCab when it is installed
# (pip install "sacrebleu[ja,ko]"), else characters.
_WORD_SPLITTERS = {"zh": ("zh",), "ja": ("ja-mecab", "char"), "ko": ("ko-mecab", "char")}
_BLEUS: dict[str, Any] = {}  # by tokenizer
_TOKENIZERS: dict[str, str] = {}  # by target language


def bleu_tokenizer(lang: str | None) -> str:
    """The name of sacrebleu's BLEU tokenizer for target language `lang` (default: 13a)."""
    base = str(lang or "").split("_")[0].split("-")[0].lower()
    if base not in _TOKENIZERS:
        for tokenizer in _WORD_SPLITTERS.get(base, ("13a",)):
            if tokenizer not in _BLEUS:
                try:
                    _BLEUS[tokenizer] = sacrebleu.metrics.BLEU(tokenize=tokenizer)
                except RuntimeError:  # MeCab not installed
                    continue
            _TOKENIZERS[base] = tokenizer
            break
    return _TOKENIZERS[base]


def bleu_for(lang: str | None) -> Any:
    """sacrebleu's BLEU with the tokenizer for target language `lang`."""
    return _BLEUS[bleu_tokenizer(lang)]


def score(hypotheses: Sequence[str], references: Sequence[str], lang: str | None = None) -> dict[str, float]:
    """Exact match, and chrF and BLEU from sacrebleu (corpus level; BLEU tokenized for `lang`)."""
    exact = float(np.mean([h == r for h, r in zip(hypotheses, references, strict=True)]))
    return {
        "exact": round(exact, 4),
        "chrf": round(_CHRF.corpus_score(list(hypotheses), [list(references)]).score, 2),
        "bleu": round(bleu_for(lang).corpus_score(list(hypotheses), [list(references)]).score, 2),
    }


def signatures() -> dict[str, str]:
    """sacrebleu's signatures of the metrics `score` used in this process: chrF, BLEU with the
    default tokenizer as `bleu` and with another as `bleu:<tokenizer>`; and of the paired bootstrap
    once `paired_bootstrap` or `bootstrap_interval` has run. A metric never used has no signature yet
    and is left out."""
    found = {}
    for key, metric in [("chrf", _CHRF), *((f"bleu:{t}", b) for t, b in sorted(_BLEUS.items()))]:
        try:
            found[key.replace("bleu:13a", "bleu")] = str(metric.get_signature())
        except ValueError:  # sacrebleu: not used yet
            continue
    return {**found, **_BOOTSTRAP_SIGNATURES}


Z95 = 1.959964  # the standard normal's 97.5% quantile


def _wilson(hits: int, n: int, z: float) -> tuple[float, float]:
    p = hits / n
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / shrink
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson_interval(hits: int, n: int, z: float = Z95) -> list[float]:
    """The 95% Wilson score interval [lo, hi] of a proportion hits/n (sound at 0 and n, unlike p ± z·se)."""
    if n <= 0:
        return [0.0, 1.0]
    return [round(bound, 4) for bound in _wilson(hits, n, z)]


def paired_difference_interval(
    both: int, first_only: int, second_only: int, neither: int, z: float = Z95
) -> list[float]:
    """The 95% interval of p1 − p2, two proportions measured on the same items (Newcombe 1998, "Improved
    confidence intervals for the difference between binomial proportions based on paired data",
    method 10: each proportion's Wilson interval, joined through the items' phi correlation with
    Newcombe's continuity correction). p1 = (both + first_only) / n, p2 = (both + second_only) / n."""
    n = both + first_only + second_only + neither
    if n <= 0:
        return [-1.0, 1.0]
    hits1, hits2 = both + first_only, both + second_only
    p1, p2 = hits1 / n, hits2 / n
    (l1, u1), (l2, u2) = _wilson(hits1, n, z), _wilson(hits2, n, z)
    margins = hits1 * (n - hits1) * hits2 * (n - hits2)
    cross = both * neither - first_only * second_only
    corrected = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = corrected / math.sqrt(margins) if margins else 0.0
    below = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    above = math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    return [round(max(-1.0, p1 - p2 - below), 4), round(min(1.0, p1 - p2 + above), 4)]


# How far an unseen (zero-shot, plugged) cell may trail its own pivot in exact match: the claim's
# target, which the quality gate checks on the point estimate and a matrix judges on the interval.
PIVOT_GAP = 0.02
# Where a gap's interval puts its cell on PIVOT_GAP (`gap_verdict`), in the order reports list them.
GAP_VERDICTS = ("within", "beyond", "undecided")


def exact_gap(
    hypotheses: Sequence[str], pivot_hypotheses: Sequence[str], references: Sequence[str]
) -> dict[str, Any]:
    """A cell's exact match against its pivot's on the same items: the gap (pivot − cell; above 0 the
    cell trails), its paired 95% interval, the discordant items [pivot right only, cell right only],
    and the verdict on PIVOT_GAP (`gap_verdict`)."""
    counts = [0, 0, 0, 0]  # both right, the pivot only, the cell only, neither
    for hypothesis, pivot, reference in zip(hypotheses, pivot_hypotheses, references, strict=True):
        pivot_right, cell_right = pivot == reference, hypothesis == reference
        counts[(0 if cell_right else 1) if pivot_right else (2 if cell_right else 3)] += 1
    n = len(references)
    interval = paired_difference_interval(*counts)
    return {
        "gap": round((counts[1] - counts[2]) / n, 4) if n else 0.0,
        "ci": interval,
        "discordant": counts[1:3],
        "verdict": gap_verdict(interval),
    }


# sacrebleu's paired bootstrap places a cell against its pivot (`bootstrap_verdict`): "below" or
# "above" it when the p-value is under SIGNIFICANT, else "level"; "untested" when there is no p.
SIGNIFICANT = 0.05
BOOTSTRAP_VERDICTS = ("below", "level", "above", "untested")


def bootstrap_verdict(cell: float | None, pivot: float | None, p: float | None) -> str:
    """Where sacrebleu's paired bootstrap (p, stored in the matrix) puts a cell's score (BLEU or chrF)
    against its pivot's: "below" or "above" at p < SIGNIFICANT, else "level"; "untested" without a p."""
    below, level, above, untested = BOOTSTRAP_VERDICTS
    if p is None or cell is None or pivot is None or not all(map(math.isfinite, (p, cell, pivot))):
        return untested
    if p >= SIGNIFICANT:
        return level
    return below if cell < pivot else above


def gap_verdict(interval: Sequence[float], margin: float = PIVOT_GAP) -> str:
    """Where a gap's 95% interval puts the cell: "within" `margin` of its pivot (the whole interval at
    or below it), "beyond" it (the whole interval above), or "undecided" (too few items to tell)."""
    within, beyond, undecided = GAP_VERDICTS
    if interval[1] <= margin:
        return within
    return beyond if interval[0] > margin else undecided


def exact_hits(hypotheses: Sequence[str], references: Sequence[str]) -> int:
    return sum(h == r for h, r in zip(hypotheses, references, strict=True))


def hits_by_group(
    hypotheses: Sequence[str], references: Sequence[str], groups: Sequence[str]
) -> dict[str, list[int]]:
    """Exact-match hits and items per group label (phrasebook family, length band): {group: [hits, n]},
    groups sorted by name."""
    counts: dict[str, list[int]] = {}
    for hypothesis, reference, group in zip(hypotheses, references, groups, strict=True):
        tally = counts.setdefault(group, [0, 0])
        tally[0] += hypothesis == reference
        tally[1] += 1
    return dict(sorted(counts.items()))


# sacrebleu's paired bootstrap reads its seed from SACREBLEU_SEED; this fixed one makes a matrix
# repeatable. It must not be 0: PairedTest treats a seed of 0 as "no seed".
BOOTSTRAP_SEED = 12345
# sacrebleu's default; ~0.4 s a cell of 300 items: ~6 s for a default matrix's 16 non-supervised cells
# (paired), ~0.2 s for a supervised one (alone).
BOOTSTRAP_RESAMPLES = 1000
_BOOTSTRAP_SIGNATURES: dict[str, str] = {}


def _signature_key(metric: str, test: str, lang: str | None) -> str:
    """The signatures' key of a bootstrap: `bleu_paired_bootstrap`, `chrf_bootstrap`, and for BLEU
    with a tokenizer other than 13a `bleu_bootstrap:<tokenizer>` (as `signatures` names BLEU)."""
    tokenizer = bleu_tokenizer(lang)
    return f"{metric}_{test}" + (f":{tokenizer}" if metric == "bleu" and tokenizer != "13a" else "")


def _bootstrap_metrics(lang: str | None) -> dict[str, Any]:
    """BLEU (tokenized for `lang`) and chrF of their own, so a bootstrap's settings never reach the
    signatures of the plain scores `score` reports."""
    return {"bleu": sacrebleu.metrics.BLEU(tokenize=bleu_tokenizer(lang)), "chrf": sacrebleu.metrics.CHRF()}


def _ci95(mean: float, half: float) -> list[float]:
    """sacrebleu's 95% interval, its bootstrap mean ± half the width between the 2.5% and 97.5%
    resamples, rounded; never below 0, which no BLEU or chrF is."""
    return [round(max(0.0, mean - half), 2), round(mean + half, 2)]


@contextmanager
def _bootstrap_settings(seed: int) -> Iterator[None]:
    """SACREBLEU_SEED set to `seed`, and sacrebleu's per-test progress messages silenced, meanwhile."""
    saved = os.environ.get("SACREBLEU_SEED")
    logger = logging.getLogger("sacrebleu")
    level = logger.level
    os.environ["SACREBLEU_SEED"] = str(seed)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
        if saved is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = saved


def paired_bootstrap(
    hypotheses: Sequence[str],
    pivot_hypotheses: Sequence[str],
    references: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    lang: str | None = None,
) -> dict[str, dict[str, Any]]:
    """sacrebleu's paired bootstrap test of a cell's hypotheses against its pivot's (same references).

    Per metric (bleu, chrf): the cell's and the pivot's bootstrap mean with its 95% interval
    (`_ci95`), and the p-value of
    the difference. Identical outputs have no difference to test: p is 1.0 then (sacrebleu itself
    counts only larger differences and would report 1/(resamples+1)).
    """
    if not seed:
        raise ValueError("the bootstrap seed must not be 0: sacrebleu reads 0 as 'no seed'")
    hypotheses, pivot_hypotheses = list(hypotheses), list(pivot_hypotheses)
    with _bootstrap_settings(seed):
        test = PairedTest(
            [("pivot", pivot_hypotheses), ("cell", hypotheses)],
            _bootstrap_metrics(lang),
            [list(references)],
            test_type="bs",
            n_samples=resamples,
        )
        names, results = test()
    identical = hypotheses == pivot_hypotheses

    def interval(result: Any) -> dict[str, Any]:
        return {"mean": round(float(result.mean), 2), "ci": _ci95(float(result.mean), float(result.ci))}

    paired = {}
    for key, name in zip(("bleu", "chrf"), names, strict=True):
        _BOOTSTRAP_SIGNATURES[_signature_key(key, "paired_bootstrap", lang)] = str(names[name])
        pivot, cell = results[name]
        p = 1.0 if identical else float(cell.p_value)
        paired[key] = {"cell": interval(cell), "pivot": interval(pivot), "p": round(p, 4)}
    return paired


def bootstrap_interval(
    hypotheses: Sequence[str],
    references: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    lang: str | None = None,
) -> dict[str, list[float]]:
    """sacrebleu's bootstrap 95% interval of one cell's BLEU and chrF over its items (`corpus_score`
    with `n_bootstrap`; the same resamples and interval the paired test gives a cell with a pivot). A
    score of 0 on every resample has the interval [0, 0]."""
    if not seed:
        raise ValueError("the bootstrap seed must not be 0: sacrebleu reads 0 as 'no seed'")
    found = {}
    with _bootstrap_settings(seed):
        for key, metric in _bootstrap_metrics(lang).items():
            result = metric.corpus_score(list(hypotheses), [list(references)], n_bootstrap=resamples)
            signature = str(metric.get_signature())
            # format(is_json=True) is sacrebleu's public view of the interval; it omits a mean of 0
            shown = json.loads(result.format(width=4, signature=signature, is_json=True))
            found[key] = _ci95(
                float(shown.get("confidence_mean", 0.0)), float(shown.get("confidence_var", 0.0))
            )
            _BOOTSTRAP_SIGNATURES[_signature_key(key, "bootstrap", lang)] = signature
    return found
