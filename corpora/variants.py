"""Source variants (`train.source_variants`, at `train.variant_rate`): a training source read, some
of the time, in another rendering that says the same thing.

In an English-centric corpus every decoder but English's learns from English thoughts only, and
takes from them whatever the English text shows, the meaning and its surface alike. A date range in
English abbreviates its months ("Jan 25 – Feb 3, 1957") and writes a shared year once; Arabic and
Japanese have no short month names and Japanese writes the year first, and on the whole phrasebook
a French decoder reading an Arabic range wrote "25 janvier – 3 févr. 1957" for "25 janv. – 3 févr.
1957" (docs/RESULTS.md, session 27). Reading the English source, at the rate, as "January 25 –
February 3, 1957" or "Jan 25, 1957 – Feb 3, 1957" against the same targets is meant to make a
decoder take the target's shape from the meaning rather than from the source's surface. Only
sources change: targets stay the corpus's one rendering. Measured once (docs/RESULTS.md, session
28): the month errors went, but decoders learned to write ranges across a year in the same-year form.

A family offers variants through `Family.variants` (date ranges do); a variant holds only meanings
the row's own rendering holds (the endpoints' dates), so it never carries a held-out string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from plugmt.corpora.phrasebook import TARGET_ONLY
from plugmt.errors import PlugmtError

# batch i's variant draws come from a generator seeded by (seed, i, VARIANT_DRAWS): its other draws stay
VARIANT_DRAWS = 2

# lang -> (the share of its rows read in a variant; per row, how many variants it has; their ids,
# [most variants, rows, width]); rows without variants have a count of 0
VariantIds = dict[str, tuple[float, np.ndarray, np.ndarray]]


def variant_texts(keys: Sequence[str], groups: Sequence[str], lang: str) -> list[list[str]]:
    """Each row's variants in `lang` (a phrasebook corpus: `keys` are "family:key" meanings, `groups`
    family names); [] for rows whose family has none."""
    from babel import Locale

    from plugmt.corpora.families import FAMILIES

    makers: dict[str, Callable[[str], list[str]] | None] = {}
    out = []
    for key, group in zip(keys, groups, strict=True):
        if group not in makers:
            family = FAMILIES.get(group)
            makers[group] = family.variants(Locale.parse(lang)) if family and family.variants else None
        make = makers[group]
        out.append(make(key.split(":", 1)[1]) if make else [])
    return out


def check_source_variants(languages: Sequence[str], rate: Any, data: Mapping[str, Any]) -> None:
    """train.source_variants and train.variant_rate against the `data:` config, before anything
    runs: a corpus that is not a phrasebook, then `check_variants`."""
    if not languages:
        return
    if data.get("name") != "phrasebook":
        raise PlugmtError(
            "train.source_variants reads phrasebook meanings in other renderings, and "
            f"data.name={data.get('name')} has no meanings: use a phrasebook (data=phrasebook_full), "
            "or drop the setting"
        )
    check_variants(languages, rate, data.get("languages") or (), data.get("families") or ())


def check_variants(
    languages: Sequence[str], rate: Any, corpus_languages: Sequence[str], families: Sequence[str]
) -> None:
    """One line for each mistake: a source language the corpus lacks or only writes, a rate outside
    [0, 1], families none of which has variants."""
    from plugmt.corpora.families import FAMILIES

    corpus = [str(lang) for lang in corpus_languages]
    for lang in map(str, languages):
        if lang in TARGET_ONLY:
            raise PlugmtError(
                f"train.source_variants names {lang!r}, a target-only pseudo-language no encoder reads"
            )
        if lang not in corpus:
            raise PlugmtError(
                f"train.source_variants names {lang!r}, which the corpus does not have; "
                f"its languages: {', '.join(corpus)}"
            )
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise PlugmtError(
            f"train.variant_rate={rate!r} is the share of a source's rows read in a variant: "
            "a number from 0 to 1"
        )
    if not any((family := FAMILIES.get(str(name))) and family.variants for name in families):
        offered = ", ".join(name for name, family in FAMILIES.items() if family.variants)
        raise PlugmtError(
            "train.source_variants reads phrasebook meanings in other renderings, but no family of this "
            f"corpus has any: add {offered} to data.families (a phrasebook), or drop the setting"
        )


def encode_variants(
    texts: Sequence[Sequence[str]], own: np.ndarray, encode: Callable[[list[str]], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row's own ids, the variants' ids [most, rows, width], counts), all padded to one width."""
    count = np.array([len(t) for t in texts], dtype=np.int64)
    layers = [encode([t[j] if len(t) > j else "" for t in texts]) for j in range(int(count.max(initial=0)))]
    width = max(x.shape[1] for x in [own, *layers])

    def pad(x: np.ndarray) -> np.ndarray:
        return np.pad(x, [(0, 0), (0, width - x.shape[1])])

    stack = np.stack([pad(x) for x in layers]) if layers else np.zeros((0, *own.shape), own.dtype)
    return pad(own), stack, count


def source_variant_ids(
    corpus: Any,
    languages: Sequence[str],
    rate: float,
    source_ids: dict[str, np.ndarray],
    encode: Callable[[list[str]], np.ndarray],
) -> VariantIds:
    """train.source_variants for the sources in `source_ids` (tokenised training rows, which are
    padded here to their variants' width): each source's rate, variant counts and ids."""
    if not languages:
        return {}
    keys, groups = corpus.keys("train"), corpus.groups("train")
    check_variants(languages, rate, corpus.languages, sorted(set(groups)))
    variants: VariantIds = {}
    for lang in map(str, languages):
        if lang in source_ids and rate > 0:
            source_ids[lang], stack, count = encode_variants(
                variant_texts(keys, groups, lang), source_ids[lang], encode
            )
            variants[lang] = (float(rate), count, stack)
    return variants


def read_variants(
    ids: np.ndarray, chosen: np.ndarray, variants: tuple[float, np.ndarray, np.ndarray], seed: Sequence[int]
) -> np.ndarray:
    """`ids` (the rows `chosen`, as the source reads them) with each row that has variants replaced,
    at the source's rate, by one of them drawn uniformly; draws from a generator seeded by `seed`."""
    rate, count, stack = variants
    if not stack.shape[0]:
        return ids
    draws = np.random.default_rng(list(seed))
    use, pick = draws.random(len(chosen)) < rate, draws.random(len(chosen))
    have = count[chosen]
    which = np.minimum((pick * have).astype(np.int64), np.maximum(have - 1, 0))
    return np.where((use & (have > 0))[:, None], stack[which, chosen], ids)


def read_sources(
    source_ids: Mapping[str, np.ndarray],
    variants: VariantIds,
    languages: Sequence[str],
    chosen: np.ndarray,
    batch: Sequence[int],
) -> list[np.ndarray]:
    """The rows `chosen` as each of `languages` reads them in batch (seed, i) = `batch`: the corpus's
    rendering, or for sources with variants, a variant at the source's rate."""
    read = [source_ids[lang][chosen] for lang in languages]
    for k, lang in enumerate(languages):
        if lang in variants:
            read[k] = read_variants(read[k], chosen, variants[lang], [*batch, VARIANT_DRAWS])
    return read


def longest_variants(variants: VariantIds, rows: int) -> np.ndarray:
    """Each row's longest variant in tokens, over the sources with variants (0: none)."""
    longest = np.zeros(rows, dtype=np.int64)
    for _, _, stack in variants.values():
        if stack.shape[0]:
            longest = np.maximum(longest, np.count_nonzero(stack, axis=2).max(axis=0))
    return longest
