"""A training stage's curves as a PNG: the training loss over steps, the validations (chrF, exact
match, loss) over steps, the kept step marked. Drawn from the history a stored module keeps in its
meta.json (`training`), so a module's curves can be drawn again at any time.

matplotlib is imported only when a figure is drawn, with its Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# train.watch_unseen: one colour per unseen direction, its pivot dotted in the same colour
UNSEEN_COLOURS = ("tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")
DEFAULT_LOG_EVERY = 100  # train.log_every's default, for modules stored before `loss_every` was kept


def loss_steps(count: int, every: int, last: int) -> list[int]:
    """The step each recorded loss belongs to: one every `every` steps, and a last one at the
    stage's final step when it ended between two (its budget, or train.steps not a multiple)."""
    return [min((i + 1) * every, last) for i in range(count)]


def curve_points(training: Mapping[str, Any], log_every: int | None = None) -> dict[str, Any]:
    """The numbers the curves figure plots, as (steps, values) pairs, and the kept step."""
    loss = [float(v) for v in training.get("loss") or []]
    every = int(training.get("loss_every") or log_every or DEFAULT_LOG_EVERY)
    last = int(training.get("steps") or every * len(loss))

    def series(key: str) -> tuple[list[int], list[float]]:
        points = training.get(key) or []
        return [int(p[0]) for p in points], [float(p[1]) for p in points]

    return {
        "loss": (loss_steps(len(loss), every, last), loss),
        "valid_chrf": series("validations"),
        "valid_exact": series("validation_exact"),
        "valid_loss": series("validation_loss"),
        "valid_unseen": unseen_series(training.get("validation_unseen") or []),
        "selected_step": training.get("selected_step"),
        "selected_on": training.get("selected_on"),
    }


def unseen_series(points: Sequence[Any]) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """train.watch_unseen's record as {"de-fr": {"cell": (steps, chrF), "pivot": (steps, chrF)}}."""
    series: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    for step, cells in points:
        for src, tgt, chrf, pivot in cells:
            lines = series.setdefault(f"{src}-{tgt}", {"cell": ([], []), "pivot": ([], [])})
            for kind, value in (("cell", chrf), ("pivot", pivot)):
                if value is not None:
                    lines[kind][0].append(int(step))
                    lines[kind][1].append(float(value))
    return series


def curves_figure(meta: Mapping[str, Any], path: Path, title: str) -> None:
    """`path`: two panels over steps. Top, the training loss (log scale) and the validation loss;
    bottom, validation chrF (left axis) and exact match (right axis). Validations are marked
    points; a dashed line marks the kept (best validated) step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    training = meta.get("training") or {}
    log_every = (meta.get("settings") or {}).get("log_every")
    points = curve_points(training, log_every)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.2), sharex=True, height_ratios=(1.1, 1))
    steps, loss = points["loss"]
    if steps:
        top.plot(steps, loss, color="tab:blue", linewidth=1.4, label="training loss (mean since last point)")
    valid_steps, valid_loss = points["valid_loss"]
    if valid_steps:
        top.plot(
            valid_steps, valid_loss, "o-", color="tab:red", markersize=4, linewidth=1, label="validation loss"
        )
    if steps or valid_steps:
        if min(loss + valid_loss) > 0:
            top.set_yscale("log")
        top.legend(fontsize=8, loc="upper right")
    top.set_ylabel("loss (cross-entropy per token)")
    top.grid(color="0.92")
    chrf_steps, chrf = points["valid_chrf"]
    if chrf_steps:
        bottom.plot(
            chrf_steps, chrf, "o-", color="tab:green", markersize=4, linewidth=1,
            label="validation chrF (left axis)",
        )  # fmt: skip
        bottom.set_ylim(min(0.0, min(chrf)), 106)
        for i, (name, lines) in enumerate(points["valid_unseen"].items()):
            colour = UNSEEN_COLOURS[i % len(UNSEEN_COLOURS)]
            label = f"{name} (unseen)"
            bottom.plot(*lines["cell"], "^-", color=colour, markersize=3.5, linewidth=1, label=label)
            if lines["pivot"][0]:
                bottom.plot(*lines["pivot"], ":", color=colour, linewidth=1.2, label=f"{name}: its pivot")
        right = bottom.twinx()
        exact_steps, exact = points["valid_exact"]
        if exact_steps:
            right.plot(exact_steps, exact, "s--", color="tab:purple", markersize=3.5, linewidth=0.9,
                       label="validation exact match (right axis)")  # fmt: skip
        # one legend below the panel: inside it, the entries hid lines wherever they were put
        handles, labels = bottom.get_legend_handles_labels()
        more_handles, more_labels = right.get_legend_handles_labels()
        bottom.legend(
            handles + more_handles, labels + more_labels, fontsize=7, loc="upper center",
            bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False,
        )  # fmt: skip
        right.set_ylim(-0.02 * 1.06, 1.06)
        right.set_ylabel("exact match")
    else:
        bottom.text(0.5, 0.5, "not validated (train.validate_every=0)", ha="center", va="center",
                    transform=bottom.transAxes, color="0.4")  # fmt: skip
    bottom.set_ylabel("chrF")
    bottom.set_xlabel("step")
    bottom.grid(color="0.92")
    kept = points["selected_step"]
    if kept is not None:
        on = {"loss": "lowest validation loss", "chrf": "best validation chrF"}.get(
            points["selected_on"], "best"
        )
        for ax in (top, bottom):
            ax.axvline(kept, color="0.25", linestyle=":", linewidth=1.2)
        if kept in chrf_steps:
            bottom.plot(kept, chrf[chrf_steps.index(kept)], "*", color="black", markersize=12, zorder=5)
        bottom.annotate(
            f"kept: step {kept}\n({on})", (kept, 0.03), xycoords=("data", "axes fraction"),
            xytext=(-5, 0), textcoords="offset points", ha="right", va="bottom", fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.7"},
        )  # fmt: skip
    stopped = training.get("stopped")
    ended = {"steps": "its step budget", "time": "train.max_seconds", "converged": "a validation plateau"}
    status = f"{training.get('steps', '?')} steps in {training.get('seconds', '?')}s, ended by " + ended.get(
        str(stopped), str(stopped)
    )
    fig.suptitle(f"{title}\n{status}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
