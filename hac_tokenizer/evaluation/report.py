"""Write an evaluation: ``metrics.json`` (everything), ``report.md`` (tables) and PNG plots.

Plots (matplotlib, drawn on ``Figure`` objects, so no global pyplot state is touched):
``pnmi_layers.png`` (layer-wise PNMI, the paper's Fig. 5), ``word_f1.png`` (tokens above each F1
threshold, Fig. 4/6), ``pnmi_languages.png`` (per-language PNMI, Fig. 3) and ``spectrogram.png``
(log-magnitude spectrograms of an original utterance and its decodes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from .errors import require

SPECTROGRAM_FFT, SPECTROGRAM_HOP = 512, 128


def _figure(width: float = 7.0, height: float = 3.5):
    figure_module = require("matplotlib.figure", "matplotlib", "report plots")
    return figure_module.Figure(figsize=(width, height), layout="constrained")


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _ok(section) -> bool:
    return isinstance(section, Mapping) and "skipped" not in section


# -- plots ---------------------------------------------------------------------------------------
def plot_pnmi_layers(pnmi: Mapping, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    names = list(pnmi)
    bars = ax.bar(
        range(len(names)), [pnmi[n]["all"] for n in names], color=["C0" if "." not in n else "C2" for n in names]
    )
    ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("PNMI")
    ax.set_ylim(0, 1)
    ax.set_title("PNMI per stream and RVQ layer")
    fig.savefig(path, dpi=120)


def plot_word_f1(words: Mapping, path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    for name, result in words.items():
        thresholds = [float(t) for t in result["tokens_above"]]
        ax.plot(thresholds, list(result["tokens_above"].values()), marker="o", label=name)
    ax.set_xlabel("F1 threshold")
    ax.set_ylabel("tokens with F1 above")
    ax.set_title("Tokens as word detectors")
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=120)


def plot_pnmi_languages(pnmi: Mapping, path: Path) -> None:
    streams = [n for n in pnmi if n in ("lexical", "phonetic", "acoustic.0")]
    languages = sorted(next(iter(pnmi.values()))["per_language"])
    fig = _figure(max(5.0, 0.8 * len(languages) + 2))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(streams))
    for k, name in enumerate(streams):
        values = [pnmi[name]["per_language"][lang] or 0.0 for lang in languages]
        ax.bar(np.arange(len(languages)) + k * width, values, width, label=name)
    ax.set_xticks(np.arange(len(languages)) + 0.4 - width / 2, languages)
    ax.set_ylabel("PNMI")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("PNMI per language")
    fig.savefig(path, dpi=120)


def _log_spectrogram(audio: np.ndarray) -> np.ndarray:
    """``[S] -> [F, T]`` dB magnitude with a Hann window (plot only)."""
    padded = np.pad(audio, (0, max(0, SPECTROGRAM_FFT - len(audio))))
    frames = np.lib.stride_tricks.sliding_window_view(padded, SPECTROGRAM_FFT)[::SPECTROGRAM_HOP]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(SPECTROGRAM_FFT), axis=-1)).T
    return 20 * np.log10(np.maximum(spectrum, 1e-5))


def plot_spectrograms(example: Mapping[str, np.ndarray], sample_rate: int, path: Path) -> None:
    fig = _figure(7.0, 1.8 * len(example) + 0.5)
    axes = fig.subplots(len(example), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, audio) in zip(axes, example.items()):
        spectrogram = _log_spectrogram(np.asarray(audio, dtype=np.float64))
        seconds = spectrogram.shape[1] * SPECTROGRAM_HOP / sample_rate
        ax.imshow(
            spectrogram,
            origin="lower",
            aspect="auto",
            vmin=-100,
            vmax=max(-60.0, float(spectrogram.max())),
            extent=(0, seconds, 0, sample_rate / 2000),
        )
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9)
    axes[-1].set_xlabel("seconds")
    fig.savefig(path, dpi=120)


# -- markdown ------------------------------------------------------------------------------------------
_PNMI_KEYS = ("all", "all_shuffled", "language_mean", "language_mean_shuffled")


def _linguistics_section(metrics: Mapping) -> list[str]:
    pnmi, words, codebook = metrics.get("pnmi"), metrics.get("word_detection"), metrics.get("codebook")
    source = pnmi if _ok(pnmi) else words if _ok(words) else None
    if source is None:
        return []
    streams = list(source)
    rows = []
    for name in streams:
        row = [name]
        row += [pnmi[name][key] for key in _PNMI_KEYS] if _ok(pnmi) else ["–"] * len(_PNMI_KEYS)
        if _ok(words):
            row += [words[name]["max_f1"], *words[name]["tokens_above"].values()]
        else:
            row += ["–"] * 5
        if _ok(codebook):
            usage = codebook["streams"][name]
            row += [usage["usage"], usage["perplexity"]]
        rows.append(row)
    header = [
        "stream",
        "PNMI",
        "shuffled",
        "PNMI (lang. mean)",
        "shuffled",
        "word max F1",
        ">0.3",
        ">0.5",
        ">0.7",
        ">0.9",
    ]
    header += ["codebook usage", "perplexity"] if _ok(codebook) else []
    lines = ["## Token–linguistics", "", _table(header, rows), ""]
    if _ok(pnmi):
        lines += [
            (
                "*shuffled*: the PNMI of the same tokens with their frames permuted (no phone information): the "
                "plug-in estimator's floor on this set. Read each PNMI against it."
            ),
            "",
        ]
        languages = sorted(next(iter(pnmi.values()))["per_language"])
        lang_rows = [[lang, *(pnmi[s]["per_language"][lang] for s in streams)] for lang in languages]
        lines += ["PNMI per language:", "", _table(["language", *streams], lang_rows), ""]
    if _ok(codebook):
        b = codebook["bitrate"]
        lines += [f"Bitrate: nominal {b['nominal_bps']:.0f} bps, unigram entropy {b['entropy_bps']:.0f} bps.", ""]
    return lines


def _abx_section(abx) -> list[str]:
    if not _ok(abx):
        return []
    modes = [m for m in ("within", "across") if _ok(abx.get(m))]
    streams = sorted({s for m in modes for s in abx[m] if s != "triplets"})
    rows = [[s, *(100 * abx[m][s] for m in modes)] for s in streams]
    lines = ["## ABX error (%)", "", f"Features: {abx['features']}; distance: {abx['distance']}.", ""]
    lines += [_table(["stream", *(f"{m} speaker ({abx[m]['triplets']} triplets)" for m in modes)], rows), ""]
    lines += [f"{m} speaker: skipped: {abx[m]['skipped']}" for m in ("within", "across") if m not in modes]
    return lines


def _reconstruction_section(recon) -> list[str]:
    if not _ok(recon):
        return []
    metric_names = list(next(iter(recon.values())))
    rows = []
    for decode, scores in recon.items():
        row = [decode]
        for m in metric_names:
            cell = _fmt(scores[m]["mean"])
            row.append(cell + (f" ({scores[m]['failed']} failed)" if scores[m]["failed"] else ""))
        rows.append(row)
    return ["## Reconstruction (decoded from the named streams only)", "", _table(["decode", *metric_names], rows), ""]


def _probe_section(probes) -> list[str]:
    if not _ok(probes):
        return []

    def cell(result) -> str:
        if "skipped" in result:
            return "skipped"
        low, high = result["accuracy_95"]
        return f"{result['accuracy']:.3f} ({low:.3f}-{high:.3f}; chance {result['chance']:.3f})"

    rows = [[s, cell(probes["speaker"][s]), cell(probes["phone"][s])] for s in probes["speaker"]]
    notes = sorted({r["skipped"] for kind in ("speaker", "phone") for r in probes[kind].values() if "skipped" in r})
    return [
        "## Disentanglement probes (linear, test accuracy with its 95 % interval)",
        "",
        _table(["stream", "speaker", "phone"], rows),
        "",
        *[f"skipped: {n}" for n in notes],
        "",
    ]


def write_markdown(metrics: Mapping, plots: Sequence[str], path: Path) -> None:
    lines = [f"# hac-eval report: {metrics['model']}", ""]
    manifest = (
        f"Manifest `{metrics.get('manifest', '?')}`: {metrics['utterances']} utterances, {metrics['seconds']:.1f} s, "
    )
    lines += [manifest + f"{metrics['speakers']} speakers, languages {', '.join(metrics['languages'])}.", ""]
    lines += _linguistics_section(metrics)
    lines += _abx_section(metrics.get("abx"))
    lines += _reconstruction_section(metrics.get("reconstruction"))
    lines += _probe_section(metrics.get("probes"))
    skipped = [
        f"- {name}: {section['skipped']}"
        for name, section in metrics.items()
        if isinstance(section, Mapping) and "skipped" in section
    ]
    if skipped:
        lines += ["## Skipped", "", *skipped, ""]
    lines += ["## Plots", "", *(f"![{Path(p).stem}]({p})" for p in plots), ""]
    lines += ["Metric definitions: see `hac-eval --help` and the docstrings of `hac_tokenizer.evaluation`.", ""]
    with atomic_write(path, "w") as f:
        f.write("\n".join(lines))


def write_report(
    metrics: Mapping, examples: Sequence[Mapping[str, np.ndarray]], sample_rate: int, out: str | os.PathLike
) -> Path:
    """Write metrics.json, the plots the metrics allow, and report.md into ``out``; returns report.md's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "metrics.json", "w") as f:
        f.write(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    plots = []
    if _ok(metrics.get("pnmi")):
        plot_pnmi_layers(metrics["pnmi"], out / "pnmi_layers.png")
        plot_pnmi_languages(metrics["pnmi"], out / "pnmi_languages.png")
        plots += ["pnmi_layers.png", "pnmi_languages.png"]
    if _ok(metrics.get("word_detection")):
        plot_word_f1(metrics["word_detection"], out / "word_f1.png")
        plots.append("word_f1.png")
    if examples:
        plot_spectrograms(examples[0], sample_rate, out / "spectrogram.png")
        plots.append("spectrogram.png")
    write_markdown(metrics, plots, out / "report.md")
    return out / "report.md"
