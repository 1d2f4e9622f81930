"""The model card's target figures against the training step of the checkpoints they were measured on, as one PNG.

    python training/plot_figures.py --out docs/curves/hac-mls8-small-figures.png \\
        --random evals/random-init \\
        --point 4200 evals/step-4200 evals/vc-step-4200.json \\
        --point 8400 evals/step-8400 evals/vc-step-8400.json \\
        --mark 9000 "GAN on" --trend-from 6400

A point is a training step, a directory holding hac-eval's output on the held-out synthetic test split
(``synth-test/metrics.json``) and on real recorded speech (``real-en/metrics.json``; either may be missing), and
optionally the JSON written by ``benchmarks/voice_conversion.py --out``. ``--random`` draws a random-init model's
figures as dashed lines. Each panel draws its issue-15 target as a grey dotted line, so where a figure levels off
against its target reads straight off the plot; a figure a point lacks (older hac-eval versions did not write the
shuffled PNMI floors) leaves a gap rather than a made-up value. Shares of a small count (speaker-probe accuracy on a
few dozen test utterances, conversions sent to the reference speaker) are shaded with their 95 % Wilson interval, so
a step-to-step move of one utterance or one conversion reads as the noise it is.

``--trend-from STEP`` fits each targeted series from STEP on as ``a + b log2(step)`` (figures of these runs grow by
about the same amount per doubling of steps, not per step), draws the fit as a thin dashed line out to twice the
last step on a log-step axis (where such a trend is straight), and prints the change per doubling and the step
where the fit would cross the target. It is a reading aid for "where does this level off", not a promise: a recipe
change or the end of a phase breaks any such trend.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from hac_tokenizer.evaluation.probes import wilson_interval

PANELS = ("phonetic PNMI", "lexical PNMI", "probe accuracy", "voice conversion", "STOI", "PESQ-wb", "SI-SDR (dB)",
          "level difference (dB)")  # fmt: skip


class Series(NamedTuple):
    panel: str
    label: str
    source: str  # "synth", "real" or "vc": which of a point's files holds it
    keys: tuple[str, ...]  # path of the figure inside that file's JSON
    # whether its panel's target line applies to it: not to chance floors, side figures, or the real-speech PNMI
    # (whose target is random init + 0.15)
    targeted: bool = True
    # for a share of a count (probe accuracy, conversions to the reference): path of that count in the same file,
    # to shade the share's 95 % Wilson interval
    trials: tuple[str, ...] | None = None


# fmt: off
SERIES = (
    Series("phonetic PNMI", "synthetic, pooled", "synth", ("pnmi", "phonetic", "all")),
    Series("phonetic PNMI", "synthetic, shuffled floor", "synth", ("pnmi", "phonetic", "all_shuffled"), targeted=False),
    Series("phonetic PNMI", "real English", "real", ("pnmi", "phonetic", "all"), targeted=False),
    Series("phonetic PNMI", "real English, shuffled floor", "real", ("pnmi", "phonetic", "all_shuffled"),
           targeted=False),
    Series("lexical PNMI", "synthetic, pooled", "synth", ("pnmi", "lexical", "all")),
    Series("lexical PNMI", "synthetic, shuffled floor", "synth", ("pnmi", "lexical", "all_shuffled")),
    Series("probe accuracy", "phone: phonetic", "synth", ("probes", "phone", "phonetic", "accuracy")),
    Series("probe accuracy", "phone: acoustic", "synth", ("probes", "phone", "acoustic", "accuracy")),
    Series("probe accuracy", "speaker: acoustic", "synth", ("probes", "speaker", "acoustic", "accuracy"),
           trials=("probes", "speaker", "acoustic", "num_test")),
    Series("probe accuracy", "speaker: phonetic", "synth", ("probes", "speaker", "phonetic", "accuracy"),
           trials=("probes", "speaker", "phonetic", "num_test")),
    Series("probe accuracy", "speaker: lexical", "synth", ("probes", "speaker", "lexical", "accuracy"),
           trials=("probes", "speaker", "lexical", "num_test")),
    Series("voice conversion", "phonetic kept", "vc", ("conditions", "loop, all layers", "phonetic_agreement")),
    Series("voice conversion", "phonetic kept, no swap", "vc", ("conditions", "reconstruction", "phonetic_agreement"),
           targeted=False),
    Series("voice conversion", "to reference", "vc", ("conditions", "loop, all layers", "to_reference"),
           targeted=False, trials=("pairs",)),
    Series("STOI", "synthetic", "synth", ("reconstruction", "full", "stoi", "mean")),
    Series("STOI", "real English", "real", ("reconstruction", "full", "stoi", "mean")),
    Series("PESQ-wb", "synthetic", "synth", ("reconstruction", "full", "pesq_wb", "mean")),
    Series("PESQ-wb", "real English", "real", ("reconstruction", "full", "pesq_wb", "mean")),
    Series("SI-SDR (dB)", "synthetic", "synth", ("reconstruction", "full", "si_sdr", "mean")),
    Series("SI-SDR (dB)", "real English", "real", ("reconstruction", "full", "si_sdr", "mean")),
    Series("level difference (dB)", "synthetic", "synth", ("reconstruction", "full", "level_db", "mean")),
    Series("level difference (dB)", "real English", "real", ("reconstruction", "full", "level_db", "mean")),
)
# fmt: on

# Issue 15's targets, one line (or band) per panel; voice conversion's "3x chance" depends on the speaker count
# and is drawn from the points' own chance level.
TARGETS = {"phonetic PNMI": (0.6,), "voice conversion": (0.6,), "STOI": (0.85,), "PESQ-wb": (2.0,),
           "SI-SDR (dB)": (0.0,), "level difference (dB)": (-1.0, 1.0)}  # fmt: skip

FORECAST_REACH = 100  # how far past the fitted range a crossing is still named by its step
TREND_REACH = 2  # trends are drawn out to this multiple of the last step, on a log-step axis


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def load_point(eval_dir: Path, voice_conversion: Path | None = None) -> dict[str, dict[str, Any]]:
    """One checkpoint's measured files, keyed by ``Series.source``; a missing file is an empty dict."""
    return {
        "synth": _read(eval_dir / "synth-test" / "metrics.json"),
        "real": _read(eval_dir / "real-en" / "metrics.json"),
        "vc": _read(voice_conversion) if voice_conversion is not None else {},
    }


def _number(data: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    """The number at the path ``keys`` inside ``data``, None where the path or its value is missing."""
    value: Any = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


def figure(point: dict[str, dict[str, Any]], series: Series) -> float | None:
    """The series' value at a point, or None where the point did not measure it."""
    return _number(point[series.source], series.keys)


def interval(point: dict[str, dict[str, Any]], series: Series) -> tuple[float, float] | None:
    """95 % Wilson interval of a share-of-a-count series at a point; None for other series or where unmeasured."""
    share = figure(point, series)
    trials = _number(point[series.source], series.trials) if series.trials is not None else None
    if share is None or not trials:
        return None
    return wilson_interval(round(share * trials), int(trials))


class Trend(NamedTuple):
    """``value = intercept + per_doubling * log2(step)``, fitted over the steps from ``start`` on."""

    start: int
    intercept: float
    per_doubling: float

    def at(self, step: float) -> float:
        return self.intercept + self.per_doubling * float(np.log2(step))

    def step_crossing(self, level: float) -> float | None:
        """The step after ``start`` where the fit crosses ``level``; None where it does not (flat, or past it)."""
        doublings = (level - self.intercept) / self.per_doubling if self.per_doubling else math.inf
        if not math.log2(self.start) <= doublings <= 64:  # before the fitted range, or never (flat: ~1e-17 slopes)
            return None
        return float(2**doublings)


def log_trend(measured: list[tuple[int, float]], start: int) -> Trend | None:
    """Least-squares ``Trend`` over the ``(step, value)`` pairs at or after ``start``; None with fewer than 3."""
    used = [(step, value) for step, value in measured if step >= start]
    if len(used) < 3:
        return None
    steps, values = zip(*used, strict=True)
    per_doubling, intercept = np.polyfit(np.log2(steps), values, 1)
    return Trend(start, float(intercept), float(per_doubling))


def plot(
    points: dict[int, dict[str, dict[str, Any]]],
    random: dict[str, dict[str, Any]] | None,
    out: Path,
    marks: dict[int, str] | None = None,
    trend_from: int | None = None,
) -> list[str]:
    """Draw every series against step (``points``: step -> ``load_point``), with targets and random-init lines;
    ``marks`` (step -> label) draws a vertical line at each step where the recipe changed; ``trend_from`` fits and
    draws the log-step trend of each series that has a target. Returns one line per trend fitted."""
    fig, axes = plt.subplots(2, 4, figsize=(19, 8), constrained_layout=True)
    panel_axes = dict(zip(PANELS, axes.flat, strict=True))
    steps = sorted(points)
    lines: list[str] = []
    for index, series in enumerate(SERIES):
        ax = panel_axes[series.panel]
        colour = f"C{[s.panel for s in SERIES[:index]].count(series.panel)}"  # the n-th series of its panel
        measured = [(step, figure(points[step], series)) for step in steps]
        measured = [(step, value) for step, value in measured if value is not None]
        if measured:
            ax.plot(*zip(*measured, strict=True), "o-", color=colour, label=series.label)
        bands = [(step, band) for step in steps if (band := interval(points[step], series)) is not None]
        if bands:
            low, high = zip(*(band for _, band in bands), strict=True)
            ax.fill_between([step for step, _ in bands], low, high, color=colour, alpha=0.15, linewidth=0)
        trended = trend_from is not None and series.panel in TARGETS and series.targeted
        trend = log_trend(measured, trend_from) if trended else None
        if trend is not None:
            reach = np.geomspace(trend.start, TREND_REACH * steps[-1], 50)
            ax.plot(reach, [trend.at(step) for step in reach], "--", color=colour, linewidth=0.8)
            lines.append(_describe(series, trend))
        # a shuffled floor is itself a chance level: no random-init line beside it
        floor = figure(random, series) if random is not None and "floor" not in series.label else None
        if floor is not None:
            ax.axhline(floor, color=colour, linestyle="--", linewidth=1, label=f"{series.label}, random init")
    for panel, levels in TARGETS.items():
        for level in levels:
            panel_axes[panel].axhline(
                level, color="grey", linestyle=":", label="target" if level == levels[0] else None
            )
    chances = [points[step]["vc"].get("chance") for step in steps]
    chance = next((c for c in chances if c is not None), None)
    if chance is not None:
        panel_axes["voice conversion"].axhline(
            3 * chance, color="black", linestyle=":", label="to reference: 3x chance"
        )
    for panel, ax in panel_axes.items():
        for step, label in (marks or {}).items():
            ax.axvline(step, color="grey", linestyle="--", linewidth=0.8)
            ax.annotate(label, (step, 1), xycoords=("data", "axes fraction"), rotation=90, va="top", fontsize=7)
        ax.set_title(panel)
        ax.set_xlabel("training step")
        if trend_from is not None:
            ax.set_xscale("log")
        ax.legend(fontsize=7)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return lines


def _describe(series: Series, trend: Trend) -> str:
    """``"STOI, synthetic: -0.004 per doubling of steps from step 9600; does not cross the target 0.85"``."""
    crossings = []
    for target in TARGETS[series.panel]:
        step = trend.step_crossing(target)
        if step is None:
            crossings.append(f"does not cross the target {target:g}")
        elif step > FORECAST_REACH * trend.start:
            crossings.append(f"crosses the target {target:g} only beyond {FORECAST_REACH}x step {trend.start}")
        else:
            crossings.append(f"crosses the target {target:g} at step ~{step:,.0f} if it holds")
    return (f"{series.panel}, {series.label}: {trend.per_doubling:+.3f} per doubling of steps from step "
            f"{trend.start}; {'; '.join(crossings)}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--point", action="append", nargs="+", required=True, metavar="STEP EVAL_DIR [VC_JSON]",
        help="a training step, its hac-eval directory (synth-test/, real-en/) and optionally its voice-conversion JSON",
    )  # fmt: skip
    parser.add_argument("--random", type=Path, default=None, help="hac-eval directory of a random-init model")
    parser.add_argument(
        "--mark", action="append", nargs=2, default=[], metavar=("STEP", "LABEL"),
        help="a vertical line at STEP labelled LABEL (where the recipe changed)",
    )  # fmt: skip
    parser.add_argument(
        "--trend-from", type=int, default=None, metavar="STEP",
        help="fit and draw each targeted series' trend per doubling of steps over the points from STEP on",
    )  # fmt: skip
    args = parser.parse_args(argv)
    points = {}
    for point in args.point:
        if len(point) not in (2, 3) or not point[0].isdigit():
            parser.error(f"--point takes STEP EVAL_DIR [VC_JSON], got {' '.join(point)}")
        vc = Path(point[2]) if len(point) == 3 else None
        for path in (Path(point[1]), *([vc] if vc else [])):
            if not path.exists():
                parser.error(f"{path} does not exist")
        points[int(point[0])] = load_point(Path(point[1]), vc)
    for step, _ in args.mark:
        if not step.isdigit():
            parser.error(f"--mark takes STEP LABEL, got step {step!r}")
    marks = {int(step): label for step, label in args.mark}
    for line in plot(points, load_point(args.random) if args.random else None, args.out, marks, args.trend_from):
        print(line)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
