"""Helpers for trainer tests: a tiny aligned corpus of tones and noise, and a tiny recipe pointing at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from hac_tokenizer.manifest import Interval, ManifestEntry, write_manifest

REPO = Path(__file__).resolve().parents[1]
TINY_RECIPE = REPO / "training" / "configs" / "tiny.yaml"
WORDS = ("ba", "di", "gu", "ka")
PHONES = {"ba": ("b", "a"), "di": ("d", "i"), "gu": ("ɡ", "u"), "ka": ("k", "a")}


def make_corpus(root: Path, items: int = 6, seconds: float = 1.2, sample_rate: int = 16000) -> Path:
    """``items`` wavs of gliding tones plus noise, each with made-up word and phone alignments (0.3 s words)."""
    rng = np.random.default_rng(0)
    entries = []
    for i in range(items):
        n = int(seconds * sample_rate)
        t = np.arange(n) / sample_rate
        f0 = 100 + 40 * i + 60 * t
        audio = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sample_rate) + 0.03 * rng.standard_normal(n)
        path = root / "wavs" / f"utt{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio.astype(np.float32), sample_rate)
        words, phones = [], []
        for k, start in enumerate(np.arange(0.1, seconds - 0.3, 0.3)):
            word = WORDS[(i + k) % len(WORDS)]
            words.append(Interval(float(start), float(start + 0.25), word))
            a, b = PHONES[word]
            phones += [Interval(float(start), float(start + 0.1), a), Interval(float(start + 0.1), float(start + 0.25), b)]
        entries.append(ManifestEntry(
            id=f"utt{i}", audio=path, duration=seconds, language="en", speaker=f"spk{i % 2}",
            text=" ".join(w.label for w in words), split="train", words=tuple(words), phones=tuple(phones),
        ))
    return write_manifest(root / "manifest.jsonl", entries)


def tiny_recipe(tmp_path: Path, run_dir: Path, **overrides: object) -> Path:
    """The shipped tiny recipe pointed at a fresh tiny corpus and ``run_dir``, with ``overrides`` applied."""
    manifest = make_corpus(tmp_path / "corpus")
    data = yaml.safe_load(TINY_RECIPE.read_text())
    data["run_dir"] = str(run_dir)
    data["data"] |= {"train_manifests": [str(manifest)], "valid_manifests": [str(manifest)], "batch_size": 2,
                     "valid_split": "train"}
    data |= {"log_every": 1, "checkpoint_every": 3, "eval_every": 1000}
    for key, value in overrides.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data[section][leaf] = value
        else:
            data[key] = value
    path = tmp_path / f"recipe-{run_dir.name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path
