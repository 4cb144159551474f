"""Time to 99% exact on held-out dates (the tutorial task): the seed, plugmt's recipe in plain Keras, plugmt.

    python benchmarks/time_to_99.py                     # 1 repeat of every side (each side: minutes)
    python benchmarks/time_to_99.py --repeats 3         # min/median/max over 3 seeds
    python benchmarks/time_to_99.py --sides recipe,plugmt --max-seconds 20   # a smoke run

The task is `experiment=tutorial`'s: English dates in three CLDR styles (1950-2049) -> ISO, from its
composed config (conf/experiment/tutorial.yaml). Four sides, each in its own process:

- seed: the seed tutorial as written (seed_baseline.py: embedding 10, LSTM 32, TF1 RMSProp 1e-3);
- recipe: plugmt's tutorial recipe in plain Keras, with the seed's code (recipe_baseline.py: sizes,
  reversed source, Adam 0.01 with per-module clipping, batch, feed_thought, from the config);
- plugmt: plugmt's Trainer and Pipeline on that recipe; plugmt_xla: the same with jit_compile
  (batch lengths rounded up to 8).

So seed ÷ recipe is the speed-up due to plugmt's recipe, recipe ÷ plugmt the speed-up due to its
code, and seed ÷ plugmt (their product) the whole of it.

Each side trains in chunks of 50 steps; after each chunk greedy decoding of the WHOLE test split is
scored (every date style; dates never seen in training in any style; 5,266 of them with the
tutorial's settings, cheap enough to score whole, so no sample), and the clock stops at the first
chunk that is >= 99% exact.

The clock counts training updates only, the same way on every side: one step function, compiled
once (Keras' train step through `train_on_batch`; plugmt's Trainer step) is called per batch,
drawing of batches included. Left out: data preparation, model and optimizer build, scoring, and
start-up: before the clock starts every side runs untimed warm-up steps (Keras: one; plugmt: one per
batch shape of its next 200 batches, so XLA compiles the programs it will need; a shape first seen
later would compile on the clock, and the JSON counts such `unwarmed_shapes`) and then restores
every weight and optimizer slot to what it was, so warm-up traces and compiles without training.

Repeat r uses seed r on every side. The report (stdout, benchmarks/out/time_to_99.{md,json}) gives
each side's training seconds to 99% (min, median, max over repeats) and steps, and the ratios of
median seconds; a side that hit --max-seconds makes a ratio a bound (≥ or ≤).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
BATCH, CHUNK, TARGET, PEEK = 128, 50, 0.99, 200
SIDES = {
    "seed": "the seed tutorial as written (seed_baseline.py)",
    "recipe": "plugmt's tutorial recipe in plain Keras (recipe_baseline.py)",
    "plugmt": "plugmt's Trainer, experiment=tutorial",
    "plugmt_xla": "the same with train.jit_compile=true",
}
# (name, slower side, faster side, what the ratio isolates)
RATIOS = [
    ("recipe", "seed", "recipe", "due to the recipe: seed ÷ recipe"),
    ("code", "recipe", "plugmt", "due to the code: recipe ÷ plugmt"),
    ("code_xla", "recipe", "plugmt_xla", "due to the code with XLA: recipe ÷ plugmt_xla"),
    ("total", "seed", "plugmt", "all of it: seed ÷ plugmt"),
    ("total_xla", "seed", "plugmt_xla", "all of it with XLA: seed ÷ plugmt_xla"),
]


def tutorial_config():
    """`experiment=tutorial` composed as plugmt-run composes it."""
    from hydra import compose, initialize_config_module

    from plugmt.conf.schemas import register as register_schemas

    register_schemas()
    with initialize_config_module("plugmt.conf", version_base="1.3"):
        return compose("config", overrides=["experiment=tutorial"])


def tutorial_recipe(cfg) -> dict:
    """What recipe_baseline.py reproduces, from the composed config; exits if the tutorial has
    moved somewhere that model does not follow."""
    from plugmt.training.settings import train_settings

    train = train_settings(cfg)
    expected = {
        "encoder.name": (cfg.encoder.name, "lstm"),
        "decoder.name": (cfg.decoder.name, "lstm"),
        "decoder.feed_thought": (cfg.decoder.feed_thought, False),
        "decoder.units": (cfg.decoder.units, None),
        "data.pairs": (list(cfg.data.pairs), ["en-iso"]),
        "train.batch_size": (train.batch_size, BATCH),
        "train.warmup_steps": (train.warmup_steps, 0),
        "train.thought_noise": (train.thought_noise, 0.0),
    }
    moved = [f"{key}={got!r} (expected {want!r})" for key, (got, want) in expected.items() if got != want]
    if moved:
        sys.exit(f"time_to_99: recipe_baseline.py does not follow experiment=tutorial's {', '.join(moved)}")
    return {
        "encoder_embed": int(cfg.encoder.embed_dim),
        "decoder_embed": int(cfg.decoder.embed_dim),
        "units": int(cfg.encoder.units),
        "reverse": bool(cfg.encoder.reverse),
        "learning_rate": float(train.learning_rate),
        "clip_norm": float(train.clip_norm),
    }


def dates(cfg) -> dict[str, list[str]]:
    """The tutorial corpus' train and test columns: {split}_{en|iso|group}."""
    from omegaconf import OmegaConf

    from plugmt.corpora.corpus import load_corpus

    corpus = load_corpus(OmegaConf.to_container(cfg.data, resolve=True))
    return {
        f"{split}_{column}": corpus.groups(split) if column == "group" else corpus.texts(split, column)
        for split in ("train", "test")
        for column in ("en", "iso", "group")
    }


def warm_up(step, batches: list, variables: list) -> None:
    """Run `step` on each batch, then put every variable back: traces and compiles, learns nothing."""
    saved = [v.numpy() for v in variables]
    for batch in batches:
        step(batch)
    for variable, value in zip(variables, saved, strict=True):
        variable.assign(value)


def race(train_step, batches, score, max_seconds: float) -> dict:
    """Alternate CHUNK training steps (timed) and scoring (not) until TARGET or `max_seconds`."""
    trained, steps, curve = 0.0, 0, []
    while trained < max_seconds:
        start = time.perf_counter()
        for _ in range(CHUNK):
            train_step(next(batches))
        trained += time.perf_counter() - start
        steps += CHUNK
        exact = score()
        curve.append([steps, round(trained, 2), round(exact, 4)])
        print(f"  {steps} steps · {trained:.0f}s · exact {exact:.4f}", file=sys.stderr)
        if exact >= TARGET:
            return {"seconds": trained, "steps": steps, "reached": True, "curve": curve}
    return {"seconds": trained, "steps": steps, "reached": False, "curve": curve}


def exact_match(hypotheses: list[str], references: list[str]) -> float:
    return sum(h == r for h, r in zip(hypotheses, references, strict=True)) / len(references)


def side_keras(data: dict, recipe: dict, seed: int, max_seconds: float, same_recipe: bool) -> dict:
    """The seed tutorial (seed_baseline.py) or plugmt's recipe in plain Keras (recipe_baseline.py)."""
    import keras
    import numpy as np
    import recipe_baseline
    import seed_baseline

    keras.utils.set_random_seed(seed)
    flip = same_recipe and recipe["reverse"]

    def read(texts: list[str]) -> list[str]:
        return [t[::-1] for t in texts] if flip else texts

    source_table = seed_baseline.CharTable(data["train_en"])
    target_table = seed_baseline.CharTable(data["train_iso"])
    width_s = max(map(len, data["train_en"] + data["test_en"]))
    width_t = max(map(len, data["train_iso"])) + 1
    x = source_table.encode(read(data["train_en"]), width_s)
    y = target_table.encode(data["train_iso"], width_t, ends=True)
    y_in = np.concatenate([np.ones((len(y), 1), np.int32), y[:, :-1]], axis=1)
    test_x = source_table.encode(read(data["test_en"]), width_s)
    if same_recipe:
        sizes = {key: value for key, value in recipe.items() if key != "reverse"}  # reversed above
        model, encoder, step = recipe_baseline.build(source_table.size, target_table.size, **sizes)
    else:
        model, encoder, step = seed_baseline.build(source_table.size, target_table.size)
    model.optimizer.build(model.trainable_variables)  # its slots exist before the warm-up saves them

    def batches():
        """Shuffled each pass, as fit(shuffle=True) does; every batch full, so one shape."""
        rng = np.random.default_rng(seed)
        while True:
            order = rng.permutation(len(x))
            for start in range(0, len(order) - BATCH + 1, BATCH):
                rows = order[start : start + BATCH]
                yield [x[rows], y_in[rows]], y[rows]

    def train_step(batch) -> None:
        model.train_on_batch(*batch)

    warm_up(train_step, [([x[:BATCH], y_in[:BATCH]], y[:BATCH])], model.variables + model.optimizer.variables)

    def score() -> float:
        hypotheses = target_table.decode(seed_baseline.greedy(encoder, step, test_x, width_t))
        return exact_match(hypotheses, data["test_iso"])

    return race(train_step, batches(), score, max_seconds)


def side_plugmt(cfg, data: dict, seed: int, max_seconds: float, jit: bool) -> dict:
    from omegaconf import OmegaConf
    from run import en_iso_trainer  # benchmarks/ is on the path: this script's own folder

    from plugmt.corpora.vocab import Vocab
    from plugmt.inference.translator import Pipeline
    from plugmt.registry import build_decoder, build_encoder
    from plugmt.training.prepare import seed_everything
    from plugmt.training.settings import train_settings

    seed_everything(seed)
    settings = train_settings(cfg)
    source_vocab = Vocab.train(data["train_en"], str(cfg.data.vocab_type), int(cfg.data.vocab_size))
    target_vocab = Vocab.train(data["train_iso"], str(cfg.data.vocab_type), int(cfg.data.vocab_size))
    encoder = build_encoder(OmegaConf.to_container(cfg.encoder, resolve=True), source_vocab.size)
    decoder = build_decoder(
        OmegaConf.to_container(cfg.decoder, resolve=True), target_vocab.size, encoder.thought_spec()
    )
    trainer, batches = en_iso_trainer(
        encoder,
        decoder,
        source_vocab,
        target_vocab,
        data["train_en"],
        data["train_iso"],
        data["train_group"],
        jit,
        learning_rate=settings.learning_rate,
        clip_norm=settings.clip_norm,
        align_weight=settings.align_weight,
    )
    batches.seed = seed
    shapes = {}
    for index in range(batches.position, batches.position + PEEK):  # peeking does not advance it
        batch = batches.batch(index)
        shapes.setdefault((batch.sources.shape, batch.target_in[0].shape), batch)
    variables = [*encoder.variables, *decoder.variables]
    variables += [v for optimizer in trainer.optimizers.values() for v in optimizer.variables]
    warm_up(trainer, list(shapes.values()), variables)
    pipeline = Pipeline(encoder, source_vocab, decoder, target_vocab, max_len=16)
    unwarmed = set()

    def train_step(batch) -> None:
        key = (batch.sources.shape, batch.target_in[0].shape)
        if key not in shapes:
            unwarmed.add(key)  # with XLA, compiled on the clock
        trainer(batch)

    def score() -> float:
        return exact_match(pipeline(data["test_en"], 512), data["test_iso"])

    result = race(train_step, batches, score, max_seconds)
    return {**result, "warmed_shapes": len(shapes), "unwarmed_shapes": len(unwarmed)}


def run_side(side: str, seed: int, max_seconds: float) -> dict:
    sys.path.insert(0, str(HERE))
    cfg = tutorial_config()
    recipe = tutorial_recipe(cfg)
    data = dates(cfg)
    if side in ("seed", "recipe"):
        result = side_keras(data, recipe, seed, max_seconds, same_recipe=side == "recipe")
    else:
        result = side_plugmt(cfg, data, seed, max_seconds, jit=side == "plugmt_xla")
    test = {"test_items": len(data["test_en"]), "test_styles": sorted(set(data["test_group"]))}
    return {**result, "seed": seed, **test, "recipe": recipe}


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per side: seconds min/median/max, median steps, whether every repeat reached TARGET; then
    each ratio of median seconds, with `bound` "=" (both reached), "≥" (the slower side hit the
    cap, so the true ratio is larger), "≤" (the faster side did) or "?" (both did)."""
    sides = {}
    for side, results in runs.items():
        seconds = [r["seconds"] for r in results]
        sides[side] = {
            "min": min(seconds),
            "median": statistics.median(seconds),
            "max": max(seconds),
            "steps": statistics.median(r["steps"] for r in results),
            "reached": all(r["reached"] for r in results),
            "reached_runs": sum(r["reached"] for r in results),
            "runs": len(results),
        }
    bounds = {(True, True): "=", (False, True): "≥", (True, False): "≤"}
    ratios = {}
    for name, slow, fast, what in RATIOS:
        if slow in sides and fast in sides:
            a, b = sides[slow], sides[fast]
            bound = bounds.get((a["reached"], b["reached"]), "?")
            ratios[name] = {"value": a["median"] / b["median"], "bound": bound, "what": what}
    return {"sides": sides, "ratios": ratios}


def report(summary: dict, runs: dict, repeats: int, max_seconds: float) -> str:
    any_run = next(iter(runs.values()))[0]
    lines = [
        f"Time to {TARGET:.0%} exact on the whole test split ({any_run['test_items']:,} held-out dates, "
        f"styles {', '.join(any_run['test_styles'])}): training seconds, {repeats} repeat(s) "
        f"({'seed 0' if repeats == 1 else f'seeds 0–{repeats - 1}'}), cap {max_seconds:.0f}s per run",
        "",
        "| side | what | seconds: median (min–max) | steps (median) | reached 99% |",
        "|---|---|---:|---:|---|",
    ]
    for side, s in summary["sides"].items():
        reached = (
            "yes"
            if s["reached"]
            else "no (cap)"
            if not s["reached_runs"]
            else f"{s['reached_runs']} of {s['runs']}"
        )
        lines.append(
            f"| {side} | {SIDES[side]} | {s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f}) | "
            f"{s['steps']:.0f} | {reached} |"
        )
    if summary["ratios"]:
        lines += ["", "| speed-up | ratio of median seconds |", "|---|---:|"]
        for r in summary["ratios"].values():
            if r["bound"] == "?":
                lines.append(f"| {r['what']} | — (both sides hit the cap) |")
            else:
                bound = "" if r["bound"] == "=" else f"{r['bound']} "
                lines.append(f"| {r['what']} | {bound}{r['value']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per side, seeds 0, 1, ...")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="training seconds cap per run")
    parser.add_argument("--sides", default=",".join(SIDES), help=f"comma-separated, of: {', '.join(SIDES)}")
    parser.add_argument("--out", default=str(HERE / "out"))
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_side(args.child[0], int(args.child[1]), args.max_seconds)))
        return
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = [s for s in sides if s not in SIDES]
    if unknown or not sides:
        named = ", ".join(unknown) or "(none given)"
        parser.error(f"--sides: unknown {named}; choose from {', '.join(SIDES)}")
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side in sides:
            print(f"repeat {repeat + 1}/{args.repeats} {side}", file=sys.stderr)
            command = [sys.executable, __file__, "--child", side, str(repeat)]
            command += ["--max-seconds", str(args.max_seconds)]
            result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            runs[side].append(json.loads(result.stdout.strip().splitlines()[-1]))
    summary = summarise(runs)
    text = report(summary, runs, args.repeats, args.max_seconds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"summary": summary, "runs": runs}
    (out / "time_to_99.json").write_text(json.dumps(record, indent=1, ensure_ascii=False))
    (out / "time_to_99.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
