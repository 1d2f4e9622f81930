"""A tiny aligned manifest of synthetic audio: tones and noise bursts standing in for phones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hac_tokenizer.audio import save_audio
from hac_tokenizer.manifest import Interval, ManifestEntry, write_manifest

RATE = 16000
PHONE_HZ = {"a": 300.0, "e": 500.0, "i": 800.0, "o": 1200.0, "s": 0.0}  # 0 Hz: a noise burst
LEXICON = {"ma": "ae", "ti": "ia", "so": "so", "ei": "eio"}
SPEAKERS = {"spk1": 1.0, "spk2": 1.3, "spk3": 0.8}  # pitch factor of each synthetic voice


def _phone_audio(phone: str, seconds: float, speaker: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    if PHONE_HZ[phone] == 0.0:
        return 0.2 * rng.standard_normal(len(t))
    base = PHONE_HZ[phone] * speaker
    return 0.3 * np.sin(2 * np.pi * base * t) + 0.1 * np.sin(2 * np.pi * 2 * base * t)


def synthetic_entry(root, index: int, language: str, speaker: str, rng: np.random.Generator) -> ManifestEntry:
    words, phones, chunks, time = [], [], [], 0.0
    for word in rng.choice(sorted(LEXICON), size=4):
        start = time
        for phone in LEXICON[word]:
            seconds = 0.02 * int(rng.integers(4, 7))  # whole frames: 80..120 ms
            chunks.append(_phone_audio(phone, seconds, SPEAKERS[speaker], rng))
            phones.append(Interval(time, time + seconds, phone))
            time += seconds
        words.append(Interval(start, time, str(word)))
    audio = np.concatenate(chunks).astype(np.float32)
    path = root / f"utt{index:03d}.wav"
    save_audio(path, torch.from_numpy(audio), RATE)
    return ManifestEntry(
        id=f"utt{index:03d}",
        audio=path,
        duration=len(audio) / RATE,
        language=language,
        speaker=speaker,
        text=" ".join(w.label for w in words),
        split="test",
        words=tuple(words),
        phones=tuple(phones),
    )


@pytest.fixture(scope="session")
def synthetic_manifest(tmp_path_factory):
    """12 utterances, 3 speakers, 2 languages, about 1.2 s each."""
    root = tmp_path_factory.mktemp("synthetic")
    rng = np.random.default_rng(0)
    entries = [synthetic_entry(root, i, ("en", "fr")[i % 2], sorted(SPEAKERS)[i % 3], rng) for i in range(12)]
    return write_manifest(root / "test.jsonl", entries)
