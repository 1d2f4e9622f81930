import subprocess
import sys

import pytest
from signals import chirp

from hac_tokenizer import HACTokens
from hac_tokenizer.audio import load_audio, save_audio
from hac_tokenizer.cli import main


@pytest.fixture()
def tiny_model_dir(tiny_tokenizer, tmp_path):
    return tiny_tokenizer.save_pretrained(tmp_path / "model")


def test_encode_directory_then_decode(tiny_model_dir, tmp_path):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "a.wav", chirp(8000), 16000)
    save_audio(audio_dir / "sub" / "b.flac", chirp(22050, sample_rate=22050), 22050)
    tokens_dir, wav_dir = tmp_path / "tokens", tmp_path / "wavs"
    assert main(["encode", str(audio_dir), "-o", str(tokens_dir), "--model", str(tiny_model_dir), "-q"]) == 0
    tokens = HACTokens.load(tokens_dir / "sub" / "b.npz")
    assert tokens.sample_lengths.tolist() == [16000] and tokens.model == "tiny"
    assert main(["decode", str(tokens_dir), "-o", str(wav_dir), "--model", str(tiny_model_dir), "-q"]) == 0
    waveform, rate = load_audio(wav_dir / "a.wav")
    assert rate == 16000 and waveform.shape == (1, 8000)
    assert (wav_dir / "sub" / "b.wav").is_file()


def test_bad_file_is_skipped_and_reported(tiny_model_dir, tmp_path, capsys):
    audio_dir = tmp_path / "audio"
    save_audio(audio_dir / "good.wav", chirp(3200), 16000)
    (audio_dir / "bad.wav").write_bytes(b"RIFF not really a wav")
    code = main(["encode", str(audio_dir), "-o", str(tmp_path / "t"), "--model", str(tiny_model_dir), "-q"])
    assert code == 1
    assert "1 of 2 files done" in capsys.readouterr().err
    assert (tmp_path / "t" / "good.npz").is_file() and not (tmp_path / "t" / "bad.npz").exists()
    code = main(["encode", str(audio_dir), "-o", str(tmp_path / "t2"), "--model", str(tiny_model_dir), "-q", "--fail-fast"])
    assert code == 2


def test_info(tiny_model_dir, capsys):
    assert main(["info", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "lexical" in out and "vocab 32" in out and "900 bps" in out
    assert main(["info", "--list"]) == 0
    assert "hac-14-l16" in capsys.readouterr().out


def test_console_script_runs(tiny_model_dir, tmp_path):
    save_audio(tmp_path / "x.wav", chirp(4000), 16000)
    result = subprocess.run(
        [sys.executable, "-m", "hac_tokenizer.cli", "encode", str(tmp_path / "x.wav"), "-o", str(tmp_path / "o"),
         "--model", str(tiny_model_dir), "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o" / "x.npz").is_file()
