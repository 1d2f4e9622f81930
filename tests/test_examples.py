"""Every script in examples/ runs as written (a subprocess, bundled default model) on tiny inputs.

Inputs are cut from examples/audio so each run encodes well under a second of speech; most of each
test's time is the interpreter importing torch. A bad input file is skipped and reported (or, where a script
takes one file, named), never a traceback.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.audio import load_audio, save_audio
from hac_tokenizer.config import tiny_config
from hac_tokenizer.dataset import read_shard
from hac_tokenizer.lm import InterleavedLayout

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
pytestmark = pytest.mark.slow


def run(script: str, *args: object, cwd: Path, status: int = 0) -> str:
    """The script's stdout (and stderr, after it, when ``status`` is not 0) once it exits with ``status``."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)], check=False, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == status, f"{script} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout if status == 0 else result.stdout + result.stderr


@pytest.fixture
def clips_and_bad_files(clips, tmp_path) -> Path:
    """The two clips, a text file named .wav and a float wav with NaN samples."""
    folder = tmp_path / "mixed"
    shutil.copytree(clips, folder)
    (folder / "broken.wav").write_text("not audio")
    samples = np.full(4000, 0.1, dtype=np.float32)
    samples[100] = np.nan
    sf.write(str(folder / "nan.wav"), samples, 16000, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Two short clips of the sample speech: 0.5 s of English, 0.3 s of French."""
    folder = tmp_path_factory.mktemp("clips")
    for name, seconds in (("speech_en", 0.5), ("speech_fr", 0.3)):
        waveform, rate = load_audio(EXAMPLES / "audio" / f"{name}.wav")
        save_audio(folder / f"{name}.wav", waveform[0, int(0.4 * rate) : int((0.4 + seconds) * rate)], rate)
    return folder


def test_encode_dataset_then_decode_its_ids(clips, tmp_path):
    out = run("encode_dataset.py", clips, "-o", tmp_path / "ds", "--batch-size", 2, "--workers", 0, cwd=tmp_path)
    assert "2 files" in out and f"{2 * 2 + 6 * (15 + 25)} LM ids" in out
    meta = json.loads((tmp_path / "ds" / "meta.json").read_text())
    assert meta["vocab_size"] == 6659 and meta["tokens_per_second"] == 300
    index = json.loads((tmp_path / "ds" / "index.json").read_text())
    tokens = {k: v for shard in index["shards"] for k, v in read_shard(tmp_path / "ds" / shard["file"]).items()}
    assert {k: int(v.lengths[0]) for k, v in tokens.items()} == {"speech_fr": 15, "speech_en": 25}
    first = InterleavedLayout.from_config(HACTokenizer.from_pretrained().config).encode(tokens["speech_fr"])[0]
    assert first.shape == (2 + 6 * 15,)
    assert first[0] == meta["special_ids"]["bos"] and first[-1] == meta["special_ids"]["eos"]

    np.save(tmp_path / "one.npy", first.numpy())
    out = run("decode_generated.py", "--ids", tmp_path / "one.npy", "-o", tmp_path / "gen.wav", cwd=tmp_path)
    waveform, rate = load_audio(tmp_path / "gen.wav")
    assert "15 frames" in out and rate == 16000 and waveform.shape == (1, 15 * 320)


def test_encode_dataset_skips_and_reports_bad_files(clips_and_bad_files, tmp_path):
    report = run("encode_dataset.py", clips_and_bad_files, "-o", tmp_path / "ds", "--workers", 0, cwd=tmp_path, status=1)
    assert "2 files" in report and "Traceback" not in report
    assert "skipped broken: " in report and "corrupt or unsupported" in report
    assert "skipped nan: " in report and "NaN or inf" in report


def test_batched_encode_skips_and_reports_bad_files(clips_and_bad_files, tmp_path):
    report = run("batched_gpu_encode.py", clips_and_bad_files, "-o", tmp_path / "t", "--device", "cpu", cwd=tmp_path, status=1)
    assert report.startswith("2 files") and "Traceback" not in report
    assert "broken.wav: " in report and "corrupt or unsupported" in report and "nan.wav" in report and "NaN or inf" in report
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["speech_en.npz", "speech_fr.npz"]


def test_voice_conversion_names_a_bad_file_without_a_traceback(clips_and_bad_files, tmp_path):
    report = run("voice_conversion.py", clips_and_bad_files / "speech_en.wav", clips_and_bad_files / "broken.wav",
                 "-o", tmp_path / "vc", cwd=tmp_path, status=1)
    assert report.startswith("error: reference: ") and "broken.wav" in report and "Traceback" not in report


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
