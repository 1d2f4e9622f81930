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


def tiny_entries(root: Path, durations: list[float], rate: int = 16000) -> list:
    """Utterances with distinct audio, a word every 0.2 s and a phone every 0.1 s, written as 16-bit wavs."""
    from hac_tokenizer.manifest import Interval, ManifestEntry

    entries = []
    for k, seconds in enumerate(durations):
        n = int(round(seconds * rate))
        rng = np.random.default_rng(k)
        signal = (0.3 * rng.standard_normal(n)).clip(-0.9, 0.9).astype(np.float32)
        path = root / f"utt{k:03d}.wav"
        write_audio_array(path, signal, rate)
        words = tuple(Interval(round(0.2 * i, 6), round(min(0.2 * (i + 1), seconds), 6), f"w{k}_{i}")
                      for i in range(int(np.ceil(seconds / 0.2 - 1e-9))))
        phones = tuple(Interval(round(0.1 * i, 6), round(min(0.1 * (i + 1), seconds), 6), f"p{i}")
                       for i in range(int(np.ceil(seconds / 0.1 - 1e-9))))
        entries.append(ManifestEntry(id=f"utt{k:03d}", audio=path, duration=n / rate, language="xx",
                                     speaker=f"spk{k % 3}", sample_rate=rate, words=words, phones=phones))
    return entries


def write_audio_array(path: Path, signal: np.ndarray, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), signal, rate, subtype="PCM_16")
