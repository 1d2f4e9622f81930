"""The model card's target figures against the training step of the checkpoints they were measured on, as one PNG.

    python training/plot_figures.py --out docs/curves/hac-mls8-small-figures.png \\
        --random evals/random-init \\
        --point 4200 evals/step-4200 evals/vc-step-4200.json \\
        --point 8400 evals/step-8400 evals/vc-step-8400.json \\
        --mark 9000 "GAN on"

A point is a training step, a directory holding hac-eval's output on the held-out synthetic test split
(``synth-test/metrics.json``) and on real recorded speech (``real-en/metrics.json``; either may be missing), and
optionally the JSON written by ``benchmarks/voice_conversion.py --out``. ``--random`` draws a random-init model's
figures as dashed lines. Each panel draws its issue-15 target as a grey dotted line, so where a figure levels off
against its target reads straight off the plot; a figure a point lacks (older hac-eval versions did not write the
shuffled PNMI floors) leaves a gap rather than a made-up value.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib.pyplot as plt

PANELS = ("phonetic PNMI", "lexical PNMI", "probe accuracy", "voice conversion", "STOI", "PESQ-wb", "SI-SDR (dB)",
          "level difference (dB)")  # fmt: skip


class Series(NamedTuple):
    panel: str
    label: str
    source: str  # "synth", "real" or "vc": which of a point's files holds it
    keys: tuple[str, ...]  # path of the figure inside that file's JSON


SERIES = (
    Series("phonetic PNMI", "synthetic, pooled", "synth", ("pnmi", "phonetic", "all")),
    Series("phonetic PNMI", "synthetic, shuffled floor", "synth", ("pnmi", "phonetic", "all_shuffled")),
    Series("phonetic PNMI", "real English", "real", ("pnmi", "phonetic", "all")),
    Series("phonetic PNMI", "real English, shuffled floor", "real", ("pnmi", "phonetic", "all_shuffled")),
    Series("lexical PNMI", "synthetic, pooled", "synth", ("pnmi", "lexical", "all")),
    Series("lexical PNMI", "synthetic, shuffled floor", "synth", ("pnmi", "lexical", "all_shuffled")),
    Series("probe accuracy", "phone: phonetic", "synth", ("probes", "phone", "phonetic", "accuracy")),
    Series("probe accuracy", "phone: acoustic", "synth", ("probes", "phone", "acoustic", "accuracy")),
    Series("probe accuracy", "speaker: acoustic", "synth", ("probes", "speaker", "acoustic", "accuracy")),
    Series("probe accuracy", "speaker: phonetic", "synth", ("probes", "speaker", "phonetic", "accuracy")),
    Series("probe accuracy", "speaker: lexical", "synth", ("probes", "speaker", "lexical", "accuracy")),
    Series("voice conversion", "phonetic kept", "vc", ("conditions", "loop, all layers", "phonetic_agreement")),
    Series("voice conversion", "phonetic kept, no swap", "vc", ("conditions", "reconstruction", "phonetic_agreement")),
    Series("voice conversion", "to reference", "vc", ("conditions", "loop, all layers", "to_reference")),
    Series("STOI", "synthetic", "synth", ("reconstruction", "full", "stoi", "mean")),
    Series("STOI", "real English", "real", ("reconstruction", "full", "stoi", "mean")),
    Series("PESQ-wb", "synthetic", "synth", ("reconstruction", "full", "pesq_wb", "mean")),
    Series("PESQ-wb", "real English", "real", ("reconstruction", "full", "pesq_wb", "mean")),
    Series("SI-SDR (dB)", "synthetic", "synth", ("reconstruction", "full", "si_sdr", "mean")),
    Series("SI-SDR (dB)", "real English", "real", ("reconstruction", "full", "si_sdr", "mean")),
    Series("level difference (dB)", "synthetic", "synth", ("reconstruction", "full", "level_db", "mean")),
    Series("level difference (dB)", "real English", "real", ("reconstruction", "full", "level_db", "mean")),
)

# Issue 15's targets, one line (or band) per panel; voice conversion's "3x chance" depends on the speaker count
# and is drawn from the points' own chance level.
TARGETS = {"phonetic PNMI": (0.6,), "voice conversion": (0.6,), "STOI": (0.85,), "PESQ-wb": (2.0,),
           "SI-SDR (dB)": (0.0,), "level difference (dB)": (-1.0, 1.0)}  # fmt: skip


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def load_point(eval_dir: Path, voice_conversion: Path | None = None) -> dict[str, dict[str, Any]]:
    """One checkpoint's measured files, keyed by ``Series.source``; a missing file is an empty dict."""
    return {
        "synth": _read(eval_dir / "synth-test" / "metrics.json"),
        "real": _read(eval_dir / "real-en" / "metrics.json"),
        "vc": _read(voice_conversion) if voice_conversion is not None else {},
    }


def figure(point: dict[str, dict[str, Any]], series: Series) -> float | None:
    """The series' value at a point, or None where the point did not measure it."""
    value: Any = point[series.source]
    for key in series.keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


def plot(
    points: dict[int, dict[str, dict[str, Any]]],
    random: dict[str, dict[str, Any]] | None,
    out: Path,
    marks: dict[int, str] | None = None,
) -> None:
    """Draw every series against step (``points``: step -> ``load_point``), with targets and random-init lines;
    ``marks`` (step -> label) draws a vertical line at each step where the recipe changed."""
    fig, axes = plt.subplots(2, 4, figsize=(19, 8), constrained_layout=True)
    panel_axes = dict(zip(PANELS, axes.flat, strict=True))
    steps = sorted(points)
    for index, series in enumerate(SERIES):
        ax = panel_axes[series.panel]
        colour = f"C{[s.panel for s in SERIES[:index]].count(series.panel)}"  # the n-th series of its panel
        measured = [(step, figure(points[step], series)) for step in steps]
        measured = [(step, value) for step, value in measured if value is not None]
        if measured:
            ax.plot(*zip(*measured, strict=True), "o-", color=colour, label=series.label)
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
        ax.legend(fontsize=7)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


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
    plot(points, load_point(args.random) if args.random else None, args.out, marks)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
