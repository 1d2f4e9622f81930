"""Tiny corpora for the data-layer tests: real audio files, MFA-style TextGrids and manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def long_textgrid(tiers: dict[str, list[tuple[float, float, str]]], xmax: float) -> str:
    """A long-format TextGrid as Praat / MFA write it."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0 ", f"xmax = {xmax} ",
             "tiers? <exists> ", f"size = {len(tiers)} ", "item []: "]
    for k, (name, intervals) in enumerate(tiers.items(), 1):
        lines += [f"    item [{k}]:", '        class = "IntervalTier" ', f'        name = "{name}" ',
                  "        xmin = 0 ", f"        xmax = {xmax} ", f"        intervals: size = {len(intervals)} "]
        for i, (start, end, text) in enumerate(intervals, 1):
            escaped = text.replace('"', '""')
            lines += [f"        intervals [{i}]:", f"            xmin = {start} ", f"            xmax = {end} ",
                      f'            text = "{escaped}" ']
    return "\n".join(lines) + "\n"


def write_audio(path: Path, seconds: float, rate: int = 16000, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = 0.1 * np.sin(np.arange(int(seconds * rate)) * 0.05).astype(np.float32)
    sf.write(str(path), signal, rate, **kwargs)


def write_alignment(folder: Path, utt_id: str, words: list[str], seconds: float) -> None:
    """An MFA-style TextGrid: one phone per word, silence around."""
    step = seconds / (len(words) + 2)
    spans = [(step * (i + 1), step * (i + 2), w) for i, w in enumerate(words)]
    tiers = {"words": [(0, step, "")] + spans + [(spans[-1][1], seconds, "")],
             "phones": [(0, step, "sil")] + [(s, e, w[0]) for s, e, w in spans] + [(spans[-1][1], seconds, "sil")]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{utt_id}.TextGrid").write_text(long_textgrid(tiers, seconds))
