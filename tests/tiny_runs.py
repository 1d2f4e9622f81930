"""Helpers for trainer tests: a tiny aligned corpus of tones and noise, and a tiny recipe pointing at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from hac_tokenizer.manifest import Interval, ManifestEntry, write_manifest
from hac_tokenizer.training.recipes import recipe_path

TINY_RECIPE = recipe_path("tiny")
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


def tiny_recipe(tmp_path: Path, run_dir: Path, streams: tuple[str, ...] = ("phonetic", "lexical"),
                **overrides: object) -> Path:
    """The shipped tiny recipe pointed at a fresh tiny corpus, tiny random teachers and ``run_dir``.

    ``streams`` names the streams that get a teacher; ``overrides`` replace top-level keys, or ``section__key``
    entries of a section.
    """
    manifest = make_corpus(tmp_path / "corpus")
    data = yaml.safe_load(TINY_RECIPE.read_text())
    data["run_dir"] = str(run_dir)
    data["data"] |= {"train_manifests": [str(manifest)], "valid_manifests": [str(manifest)], "batch_size": 2,
                     "valid_split": "train", "clip_seconds": 0.32}
    # one discriminator of each kind: tests check the mechanics, and the CPU is shared
    data["discriminator"] |= {"periods": [2], "stft_windows": [256]}
    data |= {"log_every": 1, "checkpoint_every": 3, "eval_every": 1000, "teachers": {
        stream: spec for stream, spec in tiny_teachers(tmp_path / "teachers").items() if stream in streams
    }}
    for key, value in overrides.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data.setdefault(section, {})[leaf] = value
        else:
            data[key] = value
    path = tmp_path / f"recipe-{run_dir.name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def tiny_teachers(root: Path) -> dict[str, dict]:
    """Random HuBERT- and LaBSE-like teachers of a few thousand parameters, saved as ``transformers`` checkpoints.

    Same classes and loading path as the real teachers (hop 320 samples, BERT pooler), sizes shrunk so a test
    step costs milliseconds. Returns the ``teachers`` section of a recipe.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer, HubertConfig, HubertModel

    torch.manual_seed(0)
    hubert = HubertConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(8,) * 7,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2,
    )
    HubertModel(hubert).save_pretrained(root / "hubert")
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz"]) + "\n")
    BertTokenizer(str(vocab)).save_pretrained(root / "labse")
    bert = BertConfig(vocab_size=31, hidden_size=12, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24)
    BertModel(bert).save_pretrained(root / "labse")
    return {
        "phonetic": {"kind": "hubert", "path": str(root / "hubert"), "layers": "all"},
        "lexical": {"kind": "labse", "path": str(root / "labse"), "pooling": "pooler"},
    }
