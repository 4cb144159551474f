"""Translation directions: parsing `data.pairs`, and the shortest pivot chain through trained ones."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from plugmt.errors import PlugmtError

Pair = tuple[str, str]
KEYWORDS = ("english_centric", "all")


def pair_name(pair: Pair) -> str:
    return f"{pair[0]}-{pair[1]}"


def parse_pairs(
    spec: str | Iterable[str],
    languages: Sequence[str],
    target_only: Sequence[str] = (),
    zero_shot: Iterable[str] = (),
) -> list[Pair]:
    """`[en-fr, fr-en]`, `english_centric` (en<->every other language) or `all`, checked, less
    the directions named in `zero_shot` (`data.zero_shot=[de-fr,fr-de]`): an experiment can say
    "all but these", and the held-out cells are then exactly the ones it names."""
    pairs = _parse(spec, languages, target_only)
    held_out = _parse(list(zero_shot), languages, target_only) if zero_shot else []
    for pair in held_out:
        if pair not in pairs:
            raise PlugmtError(
                f"data.zero_shot entry {pair_name(pair)} is not among the directions of data.pairs, "
                "so it would be zero-shot anyway; remove it"
            )
    kept = [p for p in pairs if p not in held_out]
    if not kept:
        raise PlugmtError("data.zero_shot holds out every direction of data.pairs; nothing is left to train")
    return kept


def _parse(spec: str | Iterable[str], languages: Sequence[str], target_only: Sequence[str]) -> list[Pair]:
    sources = [lang for lang in languages if lang not in target_only]
    if isinstance(spec, str):
        if spec == "english_centric":
            if "en" not in sources:
                raise PlugmtError("data.pairs=english_centric needs 'en' in data.languages")
            others = [lang for lang in sources if lang != "en"]
            return [p for lang in others for p in (("en", lang), (lang, "en"))]
        if spec == "all":
            return [(s, t) for s in sources for t in sources if s != t]
        spec = [spec]
    pairs: list[Pair] = []
    for item in spec:
        parts = str(item).split("-")
        if len(parts) != 2 or not all(parts):
            raise PlugmtError(
                f"data.pairs entry {item!r} is not of the form src-tgt (e.g. en-fr), "
                f"nor one of {', '.join(KEYWORDS)}"
            )
        src, tgt = parts
        for lang in (src, tgt):
            if lang not in languages:
                raise PlugmtError(
                    f"unknown language {lang!r} in data.pairs entry {item!r}; "
                    f"known languages: {', '.join(languages)}"
                )
        if src in target_only:
            raise PlugmtError(
                f"{src!r} in data.pairs entry {item!r} is a target-only pseudo-language; "
                "it cannot be a source"
            )
        if src == tgt:
            raise PlugmtError(f"data.pairs entry {item!r} translates a language into itself")
        if (src, tgt) not in pairs:
            pairs.append((src, tgt))
    if not pairs:
        raise PlugmtError("data.pairs is empty; name at least one direction, e.g. data.pairs=[en-fr]")
    return pairs


def pivot_path(src: str, tgt: str, edges: Iterable[Pair]) -> list[str] | None:
    """Shortest chain src -> ... -> tgt along trained directions (fewest hops), or None.

    Ties are broken alphabetically so the same graph always gives the same path.
    """
    neighbours: dict[str, list[str]] = {}
    for a, b in sorted(set(edges)):
        neighbours.setdefault(a, []).append(b)
    previous: dict[str, str | None] = {src: None}
    queue = deque([src])
    while queue:
        here = queue.popleft()
        if here == tgt:
            path = [tgt]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])
            return path[::-1]
        for there in neighbours.get(here, []):
            if there not in previous:
                previous[there] = here
                queue.append(there)
    return None


def path_decoder(
    first: Callable[[str, str], list[str]],
    then: Callable[[str, list[str]], list[str]],
    decoded: dict[tuple[str, ...], list[str]] | None = None,
) -> Callable[[Sequence[str]], list[str]]:
    """A function decoding a path of languages hop by hop (`["de", "en", "fr"]`: de->en, then
    en->fr): `first(src, tgt)` decodes the first hop from the source texts, `then(tgt, texts)` each
    later hop from the hop before. Every path and sub-path is decoded once (kept in `decoded`, by
    path, when the caller passes a dict to read afterwards), so a pivot reuses the cell it starts
    with."""
    decoded = {} if decoded is None else decoded

    def along(path: Sequence[str]) -> list[str]:
        key = tuple(path)
        if len(key) < 2:
            raise ValueError(f"a path needs a source and a target, not {list(key)}")
        if key not in decoded:
            decoded[key] = first(*key) if len(key) == 2 else then(key[-1], along(key[:-1]))
        return decoded[key]

    return along


def agreement_triple(
    pairs: Sequence[Pair], decoders: Sequence[str], languages: Sequence[str], seed: Sequence[int]
) -> tuple[int, int, int]:
    """train.agreement's choice for a batch reading `languages`: (decoder index, teacher source,
    student source), a decoder trained from the teacher's language and not from the student's (nor
    the student's own language), drawn with a generator seeded by `seed` (the batch's other draws
    stay as they are); (-1, 0, 0) when there is none."""
    trained = set(pairs)
    options = [
        (k, teacher, 1 - teacher)
        for teacher in range(len(languages) if len(set(languages)) > 1 else 0)
        for k, decoder in enumerate(decoders)
        if (languages[teacher], decoder) in trained
        and (languages[1 - teacher], decoder) not in trained
        and decoder != languages[1 - teacher]
    ]
    if not options:
        return (-1, 0, 0)
    return options[int(np.random.default_rng(list(seed)).integers(len(options)))]
