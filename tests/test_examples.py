"""Every script in examples/ runs as written (a subprocess, bundled default model) on tiny inputs.

Inputs are cut from examples/audio so each run encodes well under a second of speech; most of each
test's time is the interpreter importing torch.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hac_tokenizer.audio import load_audio, save_audio
from hac_tokenizer.config import tiny_config
from hac_tokenizer.lm import InterleavedLayout

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.slow


def run(script: str, *args: object, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)], check=False, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Two short clips of the sample speech: 0.5 s of English, 0.3 s of French."""
    folder = tmp_path_factory.mktemp("clips")
    for name, seconds in (("speech_en", 0.5), ("speech_fr", 0.3)):
        waveform, rate = load_audio(EXAMPLES / "audio" / f"{name}.wav")
        save_audio(folder / f"{name}.wav", waveform[0, int(0.4 * rate) : int((0.4 + seconds) * rate)], rate)
    return folder


def test_encode_dataset_then_decode_its_ids(clips, tmp_path):
    out = run("encode_dataset.py", clips, "-o", tmp_path / "ds", "--batch-size", 2, cwd=tmp_path)
    assert "2 files" in out
    meta = json.loads((tmp_path / "ds" / "meta.json").read_text())
    index = [json.loads(line) for line in (tmp_path / "ds" / "index.jsonl").read_text().splitlines()]
    ids = np.load(tmp_path / "ds" / "ids.npy")
    assert meta["vocab_size"] == 6659 and meta["tokens_per_second"] == 300 and ids.dtype == np.uint16
    assert [row["frames"] for row in index] == [15, 25] and ids.shape == (sum(2 + 6 * r["frames"] for r in index),)
    first = ids[index[0]["start"] : index[0]["start"] + index[0]["length"]]
    assert first[0] == meta["special_ids"]["bos"] and first[-1] == meta["special_ids"]["eos"]

    np.save(tmp_path / "one.npy", first.astype(np.int64))
    out = run("decode_generated.py", "--ids", tmp_path / "one.npy", "-o", tmp_path / "gen.wav", cwd=tmp_path)
    waveform, rate = load_audio(tmp_path / "gen.wav")
    assert "15 frames" in out and rate == 16000 and waveform.shape == (1, 15 * 320)


def test_decode_generated_with_the_bigram_stand_in(clips, tmp_path):
    out = run("decode_generated.py", "--prompt", clips / "speech_en.wav", "--frames", 12, "-o", tmp_path / "gen.wav", cwd=tmp_path)
    waveform, _ = load_audio(tmp_path / "gen.wav")
    assert "(74,) ids" in out and waveform.shape == (1, 12 * 320)


def test_stand_in_sampler_writes_a_valid_interleaved_sequence():
    spec = importlib.util.spec_from_file_location("decode_generated", EXAMPLES / "decode_generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layout = InterleavedLayout.from_config(tiny_config())
    vocab = layout.vocab
    prompt = torch.stack([torch.randint(c.size, (30,)) + c.offset for c in vocab.codebooks])  # [K, T]
    ids = module.sample_interleaved(module.bigram_tables(prompt, vocab), vocab, prompt[:, -1], frames=9, seed=1)
    tokens = layout.decode(ids)
    assert tokens.lengths.tolist() == [9] and torch.equal(layout.encode(tokens)[0], ids)


def test_voice_conversion(clips, tmp_path):
    out = run("voice_conversion.py", clips / "speech_en.wav", clips / "speech_fr.wav", "-o", tmp_path / "vc", cwd=tmp_path)
    assert "looped" in out
    names = ["converted", "converted_fine_layers", "content_only", "content_reference_mean", "acoustic_only", "coarse_acoustic"]
    for name in names:
        waveform, _ = load_audio(tmp_path / "vc" / f"{name}.wav")
        assert waveform.shape == (1, 8000), name


def test_inspect_tokens(tmp_path):
    out = run("inspect_tokens.py", "--text", "hello world", "-o", tmp_path / "plot.png", cwd=tmp_path)
    assert out.startswith("2 words") and (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_batched_encode_falls_back_to_cpu(clips, tmp_path):
    out = run("batched_gpu_encode.py", clips, "-o", tmp_path / "tokens", "--device", "cpu", cwd=tmp_path)
    assert "on cpu (torch.float32)" in out
    assert sorted(p.name for p in (tmp_path / "tokens").iterdir()) == ["speech_en.npz", "speech_fr.npz"]
