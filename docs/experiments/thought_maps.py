"""Post-hoc maps of a source language's thoughts for zero-shot cells (docs/RESULTS.md, session 15).

For each zero-shot direction src->tgt of an English-centric store (de->fr, fr->de), the tgt decoder
reads the src thoughts as they are, or mapped towards English's (the language both decoders were
trained to read): `shift` (memory - mean_src + mean_en, the means over every token of the first
--mean-sentences training sentences) or `orthogonal` / `linear` (fitted on the pooled thoughts of the
first --fit English-centric training pairs src-en, applied to every token). The pivot src->en->tgt
is decoded too. Only English-centric data is used: no src-tgt pair is read. Every output goes to
<out>/<split>.<src>-<tgt>.<way>.txt beside reference.<split>.<lang>.txt, for sacrebleu's paired bootstrap:

    python docs/experiments/thought_maps.py --store STORE --data ../shared/data/multi30k --split val --out OUT
    sacrebleu OUT/reference.val.fr.txt -i OUT/val.de-fr.none.txt OUT/val.de-fr.*.txt -m bleu chrf --paired-bs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import sacrebleu

from plugmt.evaluation.diagnostics import pooled_thoughts
from plugmt.inference.adapters import Adapter, fit_adapter, thought_rows
from plugmt.inference.pipeline import Pipeline
from plugmt.inference.translator import Translator

LANGS = ("en", "de", "fr")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--data", required=True, help="a folder of {split}.{lang} files")
    parser.add_argument("--split", default="val")
    parser.add_argument("--fit", type=int, default=29000, help="training pairs the maps are fitted on")
    parser.add_argument("--mean-sentences", type=int, default=5000, help="training sentences of each mean")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def lines(split: str, lang: str, n: int | None = None) -> list[str]:
        return (Path(args.data) / f"{split}.{lang}").read_text(encoding="utf-8").splitlines()[:n]

    def write(name: str, items: list[str]) -> None:
        (out / name).write_text("\n".join(items) + "\n", encoding="utf-8")

    text = {lang: lines(args.split, lang) for lang in LANGS}
    fit = {lang: lines("train", lang, args.fit) for lang in LANGS}
    translator = Translator.open(args.store, beam_size=1)
    encoder, vocab = translator.encoder, translator.source_vocab
    some = {lang: fit[lang][: args.mean_sentences] for lang in LANGS}
    means = {lang: thought_rows(encoder, vocab, some[lang])[0].mean(0) for lang in LANGS}
    pooled = pooled_thoughts(encoder, vocab, fit)
    width = len(means["en"])
    scores = {}
    for lang in LANGS:
        write(f"reference.{args.split}.{lang}.txt", text[lang])
    for src, tgt in (("de", "fr"), ("fr", "de")):
        base = translator.plug(tgt).pipeline
        ways = {
            "none": None,
            "shift": Adapter("shift", np.eye(width, dtype=np.float32), means[src], means["en"]),
            "orthogonal": fit_adapter("orthogonal", pooled[src], pooled["en"]),
            "linear": fit_adapter("linear", pooled[src], pooled["en"]),
        }
        outputs = {}
        for way, adapter in ways.items():
            pipe = Pipeline(
                base.encoder,
                base.source_vocab,
                base.decoder,
                base.target_vocab,
                base.max_len,
                1,
                0.0,
                adapter,
            )
            outputs[way] = pipe(text[src], 256, 1, 0.0)
        outputs["pivot"] = translator.translate(translator.translate(text[src], decoder="en"), decoder=tgt)
        for way, hyp in outputs.items():
            write(f"{args.split}.{src}-{tgt}.{way}.txt", hyp)
            bleu = sacrebleu.corpus_bleu(hyp, [text[tgt]]).score
            chrf = sacrebleu.corpus_chrf(hyp, [text[tgt]]).score
            scores[f"{src}-{tgt} {way}"] = {"bleu": round(bleu, 2), "chrf": round(chrf, 2)}
            print(f"{src}->{tgt} {way:10s} BLEU {bleu:5.2f} chrF {chrf:5.2f}", flush=True)
    (out / f"{args.split}.scores.json").write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
