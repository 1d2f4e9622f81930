"""Learning curves of a run directory (``train.csv`` and ``eval.csv``) as one PNG, for the model card.

    python training/plot_curves.py --run runs/hac-mls8-small --out docs/curves/hac-mls8-small.png

Panels: mel loss (training, smoothed, and validation), the two KD losses (their floor, ``-log sigmoid(1)``, is
drawn), the cycles' cross-entropies (``training.cycle``), commitment loss, the level difference, and
codebook perplexity per stream. Rows that log a term as 0 because it was not computed (no decode in a content-first
stage, a cycle of weight 0) are left out of its curve. The x axis is the optimiser step;
the wall-clock hours the run's logged ``step_seconds`` add up to go in the title. A run started from a checkpoint
(``init.step`` in its ``config.yaml``) counts its steps and hours from that step.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib.pyplot as plt
import yaml

from hac_tokenizer.training.cycle import CYCLES
from hac_tokenizer.training.metrics_log import read_metrics

KD_FLOOR = -math.log(1 / (1 + math.exp(-1)))  # -log sigmoid(1) = 0.313: cosine 1 on every column
# terms the trainer logs as 0 where it did not compute them; a real value is never exactly 0
UNCOMPUTED_AS_ZERO = {"mel", *CYCLES}


def smooth(values: list[float], width: int) -> list[float]:
    """Trailing moving average over ``width`` logged rows."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - width] if i >= width else 0.0)
        out.append(total / min(i + 1, width))
    return out


def curve(rows: list[dict], column: str) -> tuple[list[int], list[float]]:
    """Steps and values of ``column`` over the rows that log it, less those where it was not computed (0)."""
    kept = [r for r in rows if column in r and not (column in UNCOMPUTED_AS_ZERO and r[column] == 0)]
    return [r["step"] for r in kept], [r[column] for r in kept]


def first_step(run: Path) -> int:
    """The step a run started at: its ``init.step`` (0 for a run from random weights or without a config)."""
    path = run / "config.yaml"
    config = yaml.safe_load(path.read_text()) if path.exists() else None
    return int(((config or {}).get("init") or {}).get("step") or 0)


def logged_hours(train: list[dict], start: int) -> float:
    """Wall-clock hours of the training rows: each row's ``step_seconds`` times the steps since the row before."""
    steps = [r["step"] for r in train]
    return sum(r["step_seconds"] * (r["step"] - previous) for previous, r in zip([start, *steps], train)) / 3600


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--smooth", type=int, default=20, help="training rows per moving-average window")
    args = parser.parse_args(argv)
    train = read_metrics(args.run / "train.csv")
    valid = read_metrics(args.run / "eval.csv") if (args.run / "eval.csv").exists() else []
    start, last = first_step(args.run), int(train[-1]["step"])
    hours = logged_hours(train, start)
    fig, axes = plt.subplots(2, 3, figsize=(15, 7), constrained_layout=True)
    panels = [
        (axes[0, 0], "mel loss (sum of 7 scales)", ["mel"], True),
        (axes[0, 1], "KD loss", ["kd_phonetic", "kd_lexical"], True),
        (axes[0, 2], "cycle cross-entropy", list(CYCLES), False),
        (axes[1, 0], "commitment loss", ["commitment"], True),
        (axes[1, 1], "|level difference| (dB)", ["level"], True),
        (
            axes[1, 2],
            "codebook perplexity",
            ["perplexity_phonetic", "perplexity_lexical", "perplexity_acoustic"],
            False,
        ),
    ]
    for ax, title, columns, with_valid in panels:
        for column in columns:
            steps, values = curve(train, column)
            if steps:
                ax.plot(steps, smooth(values, args.smooth), label=f"train {column}")
            valid_rows = [r for r in valid if column in r] if with_valid else []
            if valid_rows:
                ax.plot([r["step"] for r in valid_rows], [r[column] for r in valid_rows], "o-", label=f"valid {column}")
        if columns[0].startswith("kd"):
            ax.axhline(KD_FLOOR, color="grey", linestyle=":", label="floor (cos = 1)")
        if columns[0].startswith("perplexity"):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    span = f"steps {start}-{last}" if start else f"{last} steps"
    fig.suptitle(f"{args.run.name}: {span}, {hours:.1f} h of logged step time")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
