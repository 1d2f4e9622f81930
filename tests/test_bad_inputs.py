"""The bad-input matrix: everything a user can hand to the library that is wrong gets a typed error.

Each row is (what is called, the error type expected, a fragment of its message). A row fails if the
call succeeds, raises another type (a bare torch/numpy error), or the message does not say what was
wrong. Rows cover ``encode``, ``decode``, ``HACTokens.load``, ``from_pretrained`` and the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import save_audio
from hac_tokenizer.cli import main
from hac_tokenizer.dataset import Settings as DatasetSettings
from hac_tokenizer.dataset import tokenize_dataset
from hac_tokenizer.errors import (
    AudioFileError,
    AudioInputError,
    CheckpointError,
    ChecksumError,
    DatasetError,
    DeviceError,
    HACError,
    ManifestError,
    ModelNotFoundError,
    StreamError,
    TokenError,
    WindowError,
)

X = chirp(4000)  # a valid 0.25 s clip at 16 kHz; each row breaks one thing about it


@pytest.fixture(scope="module")
def tokens(tiny_tokenizer) -> HACTokens:
    """A valid ragged batch of two items (13 and 4 frames) to corrupt one field at a time."""
    return tiny_tokenizer.encode([X, chirp(1000, seed=1)])


def _replace(**fields) -> Callable[[HACTokens], HACTokens]:
    return lambda t: dataclasses.replace(t, **{k: v(t) if callable(v) else v for k, v in fields.items()})


def _set(stream: str, index: tuple, value: int) -> Callable[[HACTokens], HACTokens]:
    def corrupt(t: HACTokens) -> HACTokens:
        codes = getattr(t, stream).clone()
        codes[index] = value
        return dataclasses.replace(t, **{stream: codes})

    return corrupt


# -- encode: array input ----------------------------------------------------------------------------
ENCODE_ROWS = [
    pytest.param({"audio": None}, AudioInputError, "audio is None", id="none"),
    pytest.param({"audio": torch.zeros(0)}, AudioInputError, "empty (0 samples)", id="empty"),
    pytest.param({"audio": torch.full((800,), float("nan"))}, AudioInputError, "NaN or inf", id="nan"),
    pytest.param({"audio": torch.tensor([0.1, float("inf"), 0.0])}, AudioInputError, "NaN or inf", id="inf"),
    pytest.param({"audio": torch.zeros(800, dtype=torch.int64)}, AudioInputError, "int64 is not supported", id="int64"),
    pytest.param({"audio": np.zeros(800, dtype=np.uint16)}, AudioInputError, "uint16 is not supported", id="uint16"),
    pytest.param({"audio": torch.zeros(800, dtype=torch.complex64)}, AudioInputError, "complex64", id="complex"),
    pytest.param({"audio": torch.zeros(800, dtype=torch.bool)}, AudioInputError, "bool", id="bool"),
    pytest.param({"audio": np.array([0.1, None], dtype=object)}, AudioInputError, "object array", id="object-array"),
    pytest.param({"audio": torch.tensor(0.5)}, AudioInputError, "0 dims", id="scalar-0d"),
    pytest.param({"audio": torch.zeros(1, 1, 1, 800)}, AudioInputError, "4 dims", id="4d"),
    pytest.param({"audio": torch.zeros(4000, 2)}, AudioInputError, "channels-last", id="channels-last-2d"),
    pytest.param({"audio": torch.zeros(1, 4000, 2)}, AudioInputError, "channels-last", id="channels-last-3d"),
    pytest.param({"audio": torch.zeros(1, 40, 4000)}, AudioInputError, "40 channels is too many", id="too-many-channels"),
    pytest.param({"audio": torch.zeros(0, 800)}, AudioInputError, "B = 0", id="empty-batch-2d"),
    pytest.param({"audio": torch.zeros(0, 1, 800)}, AudioInputError, "B = 0", id="empty-batch-3d"),
    pytest.param({"audio": torch.zeros(1, 0, 800)}, AudioInputError, "0 channels", id="zero-channels"),
    pytest.param({"audio": torch.zeros(2, 0)}, AudioInputError, "empty (0 samples)", id="zero-samples-batch"),
    pytest.param({"audio": 0.5}, AudioInputError, "got float", id="python-float"),
    pytest.param({"audio": b"RIFF"}, AudioInputError, "got bytes", id="bytes"),
    pytest.param({"audio": {"wav": X}}, AudioInputError, "got dict", id="dict"),
    pytest.param({"audio": []}, AudioInputError, "list of audio items is empty", id="empty-list"),
    pytest.param({"audio": [X, X, torch.zeros(0)]}, AudioInputError, "item 2: audio is empty", id="list-item-empty"),
    pytest.param({"audio": [X, torch.full((9,), float("nan"))]}, AudioInputError, "item 1: audio contains NaN", id="list-item-nan"),
    pytest.param({"audio": [X, [0.1, 0.2]]}, AudioInputError, "item 1: expected a tensor", id="list-item-list"),
    pytest.param({"audio": [X, torch.zeros(1, 1, 9)]}, AudioInputError, "item 1: shape (1, 1, 9)", id="list-item-3d"),
    pytest.param({"audio": [X, torch.zeros(9, dtype=torch.int64)]}, AudioInputError, "item 1: audio of dtype", id="list-item-int64"),
    pytest.param({"audio": torch.zeros(1), "sample_rate": 48000}, AudioInputError, "too short to resample", id="too-short-to-resample"),
    pytest.param({"audio": X, "sample_rate": 0}, AudioInputError, "outside [1000, 384000]", id="rate-zero"),
    pytest.param({"audio": X, "sample_rate": -16000}, AudioInputError, "outside [1000, 384000]", id="rate-negative"),
    pytest.param({"audio": X, "sample_rate": 10**9}, AudioInputError, "outside [1000, 384000]", id="rate-absurd"),
    pytest.param({"audio": X, "sample_rate": 16000.5}, AudioInputError, "whole number", id="rate-fractional"),
    pytest.param({"audio": X, "sample_rate": float("nan")}, AudioInputError, "whole number", id="rate-nan"),
    pytest.param({"audio": X, "sample_rate": "16000"}, AudioInputError, "must be a number", id="rate-string"),
    pytest.param({"audio": X, "sample_rate": True}, AudioInputError, "must be a number", id="rate-bool"),
    pytest.param({"audio": X, "streams": ("lexical", "prosody")}, StreamError, "streams must be", id="unknown-stream"),
    pytest.param({"audio": X, "streams": ()}, StreamError, "non-empty subset", id="no-stream"),
    pytest.param({"audio": X, "window_seconds": 0}, WindowError, "window_seconds must be a positive", id="window-zero"),
    pytest.param({"audio": X, "window_seconds": float("nan")}, WindowError, "window_seconds must be", id="window-nan"),
    pytest.param({"audio": X, "window_seconds": "30"}, WindowError, "window_seconds must be", id="window-string"),
    pytest.param({"audio": X, "window_seconds": 1.0, "overlap_seconds": 1.0}, WindowError, "overlap_seconds must lie", id="overlap-whole-window"),
    pytest.param({"audio": X, "window_seconds": 1.0, "overlap_seconds": -0.1}, WindowError, "overlap_seconds must lie", id="overlap-negative"),
    pytest.param({"audio": X, "window_seconds": 0.05, "overlap_seconds": 0.04}, WindowError, "leaves no centre", id="overlap-no-centre"),
]


@pytest.mark.parametrize("kwargs, error, fragment", ENCODE_ROWS)
def test_encode_refuses(tiny_tokenizer, kwargs, error, fragment):
    with pytest.raises(error) as info:
        tiny_tokenizer.encode(**kwargs)
    assert fragment in str(info.value)


# -- encode: files --------------------------------------------------------------------------------
def _text_as_wav(d: Path) -> Path:
    (d / "text.wav").write_text("this is not audio")
    return d / "text.wav"


def _truncated_wav(d: Path) -> Path:
    save_audio(d / "full.wav", X, 16000)
    (d / "cut.wav").write_bytes((d / "full.wav").read_bytes()[:30])  # cut inside the header
    return d / "cut.wav"


def _zero_frames_wav(d: Path) -> Path:
    sf.write(str(d / "empty.wav"), np.zeros(0, dtype=np.float32), 16000)
    return d / "empty.wav"


def _nan_float_wav(d: Path) -> Path:
    sf.write(str(d / "nan.wav"), np.full(800, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    return d / "nan.wav"


def _inf_late_float_wav(d: Path) -> Path:
    samples = chirp(16000).numpy()
    samples[-3] = np.inf  # in the last frame: a reader must look at every sample
    sf.write(str(d / "inf.wav"), samples, 16000, subtype="FLOAT")
    return d / "inf.wav"


def _directory_named_wav(d: Path) -> Path:
    (d / "dir.wav").mkdir()
    return d / "dir.wav"


FILE_ROWS = [
    pytest.param(lambda d: d / "missing.wav", AudioFileError, "not found", id="file-missing"),
    pytest.param(_directory_named_wav, AudioFileError, "directories are not audio files", id="file-is-directory"),
    pytest.param(_text_as_wav, AudioFileError, "corrupt or unsupported", id="file-not-audio"),
    pytest.param(_truncated_wav, AudioFileError, "cannot read audio file", id="file-truncated-header"),
    pytest.param(_zero_frames_wav, AudioFileError, "contains no samples", id="file-zero-frames"),
    pytest.param(_nan_float_wav, AudioInputError, "NaN or inf", id="file-nan-samples"),
    pytest.param(_inf_late_float_wav, AudioInputError, "NaN or inf", id="file-inf-sample-at-the-end"),
]


@pytest.mark.parametrize("method", ["encode", "encode_file"])
@pytest.mark.parametrize("make, error, fragment", FILE_ROWS)
def test_encode_and_encode_file_refuse_bad_files(tiny_tokenizer, tmp_path, make, error, fragment, method):
    """encode_file reads window by window, through the same reader and checks as encode(path)."""
    path = make(tmp_path)
    with pytest.raises(error) as info:
        getattr(tiny_tokenizer, method)(path)
    assert fragment in str(info.value) and path.name in str(info.value)


def test_bad_file_in_a_list_is_named_with_its_index(tiny_tokenizer, tmp_path):
    save_audio(tmp_path / "good.wav", X, 16000)
    with pytest.raises(AudioFileError, match=r"^item 1: cannot read audio file .*text\.wav"):
        tiny_tokenizer.encode([tmp_path / "good.wav", _text_as_wav(tmp_path)])
    with pytest.raises(AudioInputError, match=r"item 1 \(.*nan\.wav\): audio contains NaN"):
        tiny_tokenizer.encode([str(tmp_path / "good.wav"), str(_nan_float_wav(tmp_path))])


# -- decode ---------------------------------------------------------------------------------------
DECODE_ROWS = [
    pytest.param(lambda t: None, "decode takes HACTokens", id="tokens-none"),
    pytest.param(lambda t: t.numpy(), "got dict", id="dict-of-arrays"),
    pytest.param(_set("lexical", (0, 0), 32), "lexical token ids must lie in [0, 32)", id="id-above-vocab"),
    pytest.param(_set("acoustic", (0, 1, 3), -5), "acoustic token ids must lie in [0, 16)", id="id-negative"),
    pytest.param(_set("phonetic", (1, 0), -1), "phonetic token ids", id="padding-id-on-valid-frame"),
    pytest.param(_set("acoustic", (0, 0, 0), 2**40), "got [", id="id-huge"),
    pytest.param(_replace(lexical=lambda t: t.lexical.float()), "integers, got torch.float32", id="float-ids"),
    pytest.param(_replace(lexical=lambda t: t.lexical.numpy()), "integers, got ndarray", id="numpy-ids"),
    pytest.param(_replace(lexical=None), "lack the ['lexical']", id="missing-stream"),
    pytest.param(_replace(lexical=lambda t: t.lexical[:1]), "expected (2, 13)", id="stream-batch-mismatch"),
    pytest.param(_replace(phonetic=lambda t: t.phonetic[:, :7]), "expected (2, 13)", id="stream-length-mismatch"),
    pytest.param(_replace(acoustic=lambda t: t.acoustic[:, :1]), "expected (2, 2, 13)", id="rvq-layers-mismatch"),
    pytest.param(_replace(lexical=lambda t: t.lexical[0]), "expected (2, 13)", id="stream-1d"),
    pytest.param(_replace(lengths=lambda t: t.lengths[:1]), "must both be [B]", id="lengths-batch-mismatch"),
    pytest.param(_replace(lengths=lambda t: t.lengths[None]), "must both be [B]", id="lengths-2d"),
    pytest.param(_replace(lengths=torch.tensor([13, 0])), "lengths must lie in [1, 13]", id="length-zero"),
    pytest.param(_replace(lengths=torch.tensor([13, 99])), "lengths must lie in [1, 13]", id="length-beyond-T"),
    pytest.param(_replace(lengths=[13, 4]), "integers, got list", id="lengths-list"),
    pytest.param(_replace(sample_lengths=torch.tensor([4000, 9999])), "do not match lengths", id="sample-lengths-inconsistent"),
    pytest.param(
        _replace(vocab_sizes={"lexical": 16384, "phonetic": 16384, "acoustic": 1024}),
        "Decode with the model that encoded them", id="tokens-of-another-model",
    ),
    pytest.param(_replace(sample_rate=24000), "24000 Hz", id="tokens-of-another-rate"),
]


@pytest.mark.parametrize("corrupt, fragment", DECODE_ROWS)
def test_decode_refuses(tiny_tokenizer, tokens, corrupt, fragment):
    with pytest.raises(TokenError) as info:
        tiny_tokenizer.decode(corrupt(tokens))
    assert fragment in str(info.value)


# -- convert_voice --------------------------------------------------------------------------------
R = chirp(3000, seed=3)  # a reference voice
VOICE_ROWS = [
    pytest.param({"source": None, "reference": R}, AudioInputError, "source: audio is None", id="voice-source-none"),
    pytest.param({"source": X, "reference": None}, AudioInputError, "reference: audio is None", id="voice-reference-none"),
    pytest.param({"source": X, "reference": R.clone().fill_(float("nan"))}, AudioInputError, "reference: audio: audio contains NaN",
                 id="voice-reference-nan"),
    pytest.param({"source": X, "reference": "missing.wav"}, AudioFileError, "reference: audio: audio file not found", id="voice-reference-missing"),
    pytest.param({"source": X, "reference": R, "reference_sample_rate": 0}, AudioInputError, "reference: sample_rate 0 Hz",
                 id="voice-reference-rate"),
    pytest.param({"source": [X, X], "reference": [R, R, R]}, TokenError, "3 voices for 2 sources", id="voice-batch-mismatch"),
    pytest.param({"source": X, "reference": R, "layers": [5]}, TokenError, "RVQ layer indices in [0, 2)", id="voice-layer-out-of-range"),
    pytest.param({"source": X, "reference": R, "layers": "01"}, TokenError, "sequence of int", id="voice-layers-string"),
    pytest.param({"source": X, "reference": R, "layers": [0.5]}, TokenError, "sequence of int", id="voice-layers-float"),
    pytest.param({"source": X, "reference": R, "fit": "warp"}, TokenError, "unknown length fit 'warp'", id="voice-unknown-fit"),
    pytest.param({"source": X, "reference": R, "fit": lambda have, need: torch.full((need,), have)}, TokenError,
                 "it must return 13 indices in [0, 10)", id="voice-fit-out-of-range"),
]


@pytest.mark.parametrize("kwargs, error, fragment", VOICE_ROWS)
def test_convert_voice_refuses(tiny_tokenizer, kwargs, error, fragment):
    with pytest.raises(error) as info:
        tiny_tokenizer.convert_voice(**kwargs)
    assert fragment in str(info.value)


# -- HACTokens.load -------------------------------------------------------------------------------
def _saved(tokens: HACTokens, d: Path, **override) -> Path:
    tokens.save(d / "ok.npz")
    with np.load(d / "ok.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(override)
    np.savez(d / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    return d / "bad.npz"


def _packed(tokens: HACTokens, d: Path, **override) -> Path:
    tokens.save(d / "ok.npz", packed=True)
    with np.load(d / "ok.npz") as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(d / "bad.npz", **(arrays | override))
    return d / "bad.npz"


def _truncated_npz(tokens: HACTokens, d: Path) -> Path:
    tokens.save(d / "ok.npz")
    (d / "bad.npz").write_bytes((d / "ok.npz").read_bytes()[:200])
    return d / "bad.npz"


def _pickle_npz(tokens: HACTokens, d: Path) -> Path:
    (d / "bad.npz").write_bytes(pickle.dumps({"lexical": [1, 2]}))
    return d / "bad.npz"


def _npy_npz(tokens: HACTokens, d: Path) -> Path:
    with open(d / "bad.npz", "wb") as f:
        np.save(f, np.zeros(3))
    return d / "bad.npz"


LOAD_ROWS = [
    pytest.param(lambda t, d: d / "missing.npz", "No such file", id="npz-missing"),
    pytest.param(_truncated_npz, "Re-encode the audio if the file is truncated", id="npz-truncated"),
    pytest.param(_pickle_npz, "not an npz archive", id="npz-is-a-pickle"),
    pytest.param(_npy_npz, "not an npz archive", id="npz-is-an-npy"),
    pytest.param(lambda t, d: _saved(t, d, format_version=np.int64(7)), "token format 7", id="npz-unknown-version"),
    pytest.param(lambda t, d: _saved(t, d, format_version=None), "lacks ['format_version']", id="npz-no-version"),
    pytest.param(lambda t, d: _saved(t, d, lexical=np.array([None], dtype=object)), "allow_pickle", id="npz-object-array"),
    pytest.param(lambda t, d: _saved(t, d, lexical=np.zeros((2, 13), np.float32)), "expected integers", id="npz-float-ids"),
    pytest.param(lambda t, d: _saved(t, d, sample_rate=np.str_("16k")), "single number", id="npz-text-rate"),
    pytest.param(lambda t, d: _saved(t, d, vocab_names=np.array(["lexical"])), "do not pair up", id="npz-vocab-corrupt"),
    pytest.param(lambda t, d: _saved(t, d, lexical=None, phonetic=None, acoustic=None), "holds no token stream", id="npz-no-stream"),
    pytest.param(lambda t, d: _saved(t, d, lexical=np.zeros((2, 7), np.int64)), "one B and one T", id="npz-stream-lengths-differ"),
    pytest.param(lambda t, d: _saved(t, d, acoustic=np.zeros((2, 13), np.int64)), "one B and one T", id="npz-acoustic-2d"),
    pytest.param(lambda t, d: _saved(t, d, lengths=np.array([13, 40])), "beyond the streams' frames", id="npz-length-beyond-T"),
    pytest.param(lambda t, d: _saved(t, d, sample_lengths=np.array([4000])), "must both be [B]", id="npz-sample-lengths-short"),
    pytest.param(lambda t, d: _packed(t, d, offsets=np.array([0, 13, 16])), "do not add up to lengths", id="packed-offsets-wrong"),
    pytest.param(lambda t, d: _packed(t, d, offsets=np.array([0, 17])), "do not add up to lengths", id="packed-offsets-short"),
    pytest.param(lambda t, d: _packed(t, d, lexical=np.zeros(16, np.int16)), "packed lexical has shape (16,)", id="packed-stream-short"),
    pytest.param(lambda t, d: _packed(t, d, format_version=np.int64(1)), "one B and one T", id="packed-as-format-1"),
]


@pytest.mark.parametrize("make, fragment", LOAD_ROWS)
def test_tokens_load_refuses(tokens, tmp_path, make, fragment):
    with pytest.raises(TokenError) as info:
        HACTokens.load(make(tokens, tmp_path))
    assert fragment in str(info.value)


# -- from_pretrained ------------------------------------------------------------------------------
def _checkpoint(tok: HACTokenizer, d: Path) -> Path:
    return tok.save_pretrained(d / "ckpt")


def _edit_config(tok: HACTokenizer, d: Path, **changes) -> Path:
    path = _checkpoint(tok, d)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, **changes}))
    return path


def _truncated_weights(tok: HACTokenizer, d: Path) -> Path:
    path = _checkpoint(tok, d)
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    return path


def _pickled_weights(tok: HACTokenizer, d: Path) -> Path:
    path = _checkpoint(tok, d)
    torch.save(tok.model.state_dict(), path / "model.safetensors")
    config = json.loads((path / "config.json").read_text())
    del config["weights_sha256"]  # else the recorded hash refuses the file before it is parsed
    (path / "config.json").write_text(json.dumps(config))
    return path


def _bit_flip(tok: HACTokenizer, d: Path) -> Path:
    path = _checkpoint(tok, d)
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-8] ^= 1
    (path / "model.safetensors").write_bytes(bytes(data))
    return path


def _no_config(tok: HACTokenizer, d: Path) -> Path:
    path = _checkpoint(tok, d)
    (path / "config.json").unlink()
    return path


PRETRAINED_ROWS = [
    pytest.param(lambda tok, d: "hac-99", ModelNotFoundError, "Known models: hac-mls8-small", id="unknown-name"),
    pytest.param(lambda tok, d: "hac14-l16", ModelNotFoundError, "did you mean 'hac-14-l16'", id="misspelt-name"),
    pytest.param(lambda tok, d: str(d / "nowhere" / "x.ckpt"), ModelNotFoundError, "neither a local", id="missing-dir"),
    pytest.param(_no_config, CheckpointError, "config.json is missing", id="config-missing"),
    pytest.param(lambda tok, d: _edit_config(tok, d, format_version=99), CheckpointError, "format 99", id="format-version"),
    pytest.param(lambda tok, d: _edit_config(tok, d, latent_dim="32"), CheckpointError, "latent_dim must be a positive", id="config-type"),
    pytest.param(_truncated_weights, ChecksumError, "weights are truncated, corrupt", id="weights-truncated"),
    pytest.param(_bit_flip, ChecksumError, "config.json records", id="weights-bit-flip"),
    pytest.param(_pickled_weights, CheckpointError, "pickled", id="weights-pickled"),
]
DEVICE_ROWS = [
    pytest.param("gpu", "'gpu' is not a torch device", id="device-unknown"),
    pytest.param(3.5, "3.5 is not a torch device", id="device-not-a-name"),
    pytest.param("cuda:99", "cuda:99", id="device-absent-gpu"),
]


@pytest.mark.parametrize("device, fragment", DEVICE_ROWS)
def test_unusable_device_is_refused(tiny_tokenizer, tmp_path, device, fragment):
    with pytest.raises(DeviceError) as info:
        HACTokenizer.from_pretrained(_checkpoint(tiny_tokenizer, tmp_path), device=device)
    assert fragment in str(info.value)


@pytest.mark.parametrize("make, error, fragment", PRETRAINED_ROWS)
def test_from_pretrained_refuses(tiny_tokenizer, tmp_path, make, error, fragment):
    with pytest.raises(error) as info:
        HACTokenizer.from_pretrained(make(tiny_tokenizer, tmp_path), local_files_only=True)
    assert fragment in str(info.value)


# -- tokenize-dataset (Python API) ------------------------------------------------------------------
def _corpus(d: Path) -> Path:
    save_audio(d / "corpus" / "a.wav", X, 16000)
    return d / "corpus"


def _manifest(d: Path, text: str) -> Path:
    (d / "m.jsonl").write_text(text)
    return d / "m.jsonl"


def _out_of_another_run(tok: HACTokenizer, d: Path) -> Path:
    other = d / "other"
    save_audio(other / "b.wav", X, 16000)
    tokenize_dataset(tok, other, d / "out", DATASET_SETTINGS)
    return _corpus(d)


def _corrupt_plan(tok: HACTokenizer, d: Path) -> Path:
    (d / "out").mkdir()
    (d / "out" / "plan.json").write_text('{"version": 1, "sou')
    return _corpus(d)


DATASET_SETTINGS = DatasetSettings(shard_size=2, batch_size=2, num_workers=0, progress=False)
ROW = '{"id": "a", "audio": "a.wav", "duration": 1.0}\n'
DATASET_ROWS = [
    pytest.param(lambda tok, d: d / "nowhere", DatasetError, "neither a JSONL manifest nor a directory", id="dataset-missing-source"),
    pytest.param(lambda tok, d: _corpus(d) / "a.wav", DatasetError, "neither a JSONL manifest", id="dataset-single-file"),
    pytest.param(lambda tok, d: (d / "empty").mkdir() or d / "empty", DatasetError, "lists no audio items", id="dataset-empty-dir"),
    pytest.param(lambda tok, d: _manifest(d, ROW + ROW), DatasetError, "appears more than once", id="dataset-duplicate-ids"),
    pytest.param(lambda tok, d: _manifest(d, ROW + "{broken\n"), ManifestError, "m.jsonl:2: not valid JSON", id="dataset-manifest-json"),
    pytest.param(lambda tok, d: _manifest(d, '{"id": "a"}\n'), ManifestError, "needs id, audio and duration", id="dataset-manifest-fields"),
    pytest.param(_out_of_another_run, DatasetError, "holds the plan of another run", id="dataset-out-of-another-run"),
    pytest.param(_corrupt_plan, DatasetError, "plan.json is unreadable", id="dataset-corrupt-plan"),
]


@pytest.mark.parametrize("make, error, fragment", DATASET_ROWS)
def test_tokenize_dataset_refuses(tiny_tokenizer, tmp_path, make, error, fragment):
    source = make(tiny_tokenizer, tmp_path)
    with pytest.raises(error) as info:
        tokenize_dataset(tiny_tokenizer, source, tmp_path / "out", DATASET_SETTINGS)
    assert fragment in str(info.value)


def test_tokenize_dataset_records_bad_items_and_goes_on(tiny_tokenizer, tmp_path):
    corpus = _corpus(tmp_path)
    for make in (_text_as_wav, _zero_frames_wav, _nan_float_wav):
        make(corpus)
    tokenize_dataset(tiny_tokenizer, corpus, tmp_path / "out", DATASET_SETTINGS)
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    failed = {k: v for shard in index["shards"] for k, v in shard["failed"].items()}
    assert index["complete"] and index["num_items"] == 1 and sorted(failed) == ["empty", "nan", "text"]
    assert "contains no samples" in failed["empty"] and "NaN" in failed["nan"] and "corrupt" in failed["text"]
    with pytest.raises(DatasetError, match="stopped by fail_fast"):
        tokenize_dataset(tiny_tokenizer, corpus, tmp_path / "out2", dataclasses.replace(DATASET_SETTINGS, fail_fast=True))


# -- the CLI: a bad file is skipped and reported, or stops the run with --fail-fast -------------------
CLI_ROWS = [
    pytest.param("encode", _text_as_wav, "corrupt or unsupported", id="cli-encode-not-audio"),
    pytest.param("encode", _zero_frames_wav, "contains no samples", id="cli-encode-empty-file"),
    pytest.param("encode", _nan_float_wav, "NaN or inf", id="cli-encode-nan-file"),
    pytest.param("decode", lambda d: _pickle_npz(None, d), "not an npz archive", id="cli-decode-pickle"),
    pytest.param("tokenize-dataset", _text_as_wav, "corrupt or unsupported", id="cli-dataset-not-audio"),
    pytest.param("tokenize-dataset", _nan_float_wav, "NaN or inf", id="cli-dataset-nan-file"),
]


@pytest.mark.parametrize("command, make, fragment", CLI_ROWS)
def test_cli_skips_reports_or_fails_fast(tiny_tokenizer, tmp_path, capsys, command, make, fragment):
    model = _checkpoint(tiny_tokenizer, tmp_path)
    inputs = tmp_path / "in"
    inputs.mkdir()
    if command == "decode":
        tiny_tokenizer.encode(X).save(inputs / "good.npz")
    else:
        save_audio(inputs / "good.wav", X, 16000)
    bad = make(inputs)
    args = [command, str(inputs), "--model", str(model), "-q"] + (["--workers", "0"] if command == "tokenize-dataset" else [])
    assert main([*args, "-o", str(tmp_path / "out")]) == 1
    report = capsys.readouterr().err
    assert "1 of 2 files done; 1 failed" in report and bad.name in report and fragment in report
    assert main([*args, "-o", str(tmp_path / "out2"), "--fail-fast"]) == 2
    assert fragment in capsys.readouterr().err


def test_cli_skips_an_unexpected_error_with_its_traceback(tiny_tokenizer, tmp_path, capsys, caplog, monkeypatch):
    """Not a bad input but a failure inside the model (say, out of memory on one huge file): still skipped."""
    model = _checkpoint(tiny_tokenizer, tmp_path)
    for name in ("a", "b", "c"):
        save_audio(tmp_path / "in" / f"{name}.wav", X, 16000)
    encode = HACTokenizer.encode

    def fails_on_b(self, audio, *args, **kwargs):
        if Path(audio).stem == "b":
            raise RuntimeError("simulated out of memory")
        return encode(self, audio, *args, **kwargs)

    monkeypatch.setattr(HACTokenizer, "encode", fails_on_b)
    args = ["encode", str(tmp_path / "in"), "--model", str(model), "-q"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 1
    assert "2 of 3 files done; 1 failed" in capsys.readouterr().err
    assert sorted(p.stem for p in (tmp_path / "out").iterdir()) == ["a", "c"]
    assert any(r.exc_info and "simulated out of memory" in str(r.exc_info[1]) for r in caplog.records)
    with pytest.raises(RuntimeError, match="simulated"):
        main([*args, "-o", str(tmp_path / "out2"), "--fail-fast"])


# -- precision: bfloat16 decodes but does not encode ------------------------------------------------
def test_bf16_encode_is_refused_and_says_what_to_use(tokens, tmp_path):
    from hac_tokenizer.config import tiny_config
    from hac_tokenizer.errors import PrecisionError

    torch.manual_seed(0)
    tok = HACTokenizer.from_config(tiny_config()).to(dtype=torch.bfloat16)
    save_audio(tmp_path / "a.wav", X, 16000)
    calls = [
        lambda: tok.encode(X),
        lambda: tok.encode_file(tmp_path / "a.wav"),
        lambda: tok.convert_voice(X, X),  # not blamed on the "source" argument
    ]
    for call in calls:
        with pytest.raises(PrecisionError, match=r"^encode refuses bfloat16: .*float16.*bfloat16 remains fine for decode"):
            call()
    assert issubclass(PrecisionError, HACError) and issubclass(PrecisionError, TypeError)
    audio = tok.decode(tokens)  # decoding in bf16 stays allowed
    assert audio.waveform.dtype == torch.float32 and torch.isfinite(audio.waveform).all()
    assert tok.to(dtype=torch.float16).encode(X).lengths.tolist() == [13]


# -- what is accepted: converted correctly, or with a warning -------------------------------------------
def test_integer_pcm_is_scaled_by_full_scale(tiny_tokenizer):
    pcm16 = (X * 2**15).round().to(torch.int16)
    as_float = tiny_tokenizer.encode(pcm16.float() / 2**15)
    for pcm in (pcm16, pcm16.numpy(), (pcm16.to(torch.int32) * 2**16)):
        assert torch.equal(tiny_tokenizer.encode(pcm).acoustic, as_float.acoustic)
    pcm8 = np.clip(np.round(X.numpy() * 128 + 128), 0, 255).astype(np.uint8)
    assert torch.equal(tiny_tokenizer.encode(pcm8).lengths, as_float.lengths)


def test_float64_and_float16_are_accepted(tiny_tokenizer):
    reference = tiny_tokenizer.encode(X)
    assert torch.equal(tiny_tokenizer.encode(X.double().numpy()).acoustic, reference.acoustic)
    assert tiny_tokenizer.encode(X.half()).lengths.tolist() == reference.lengths.tolist()


def test_values_beyond_one_are_clipped_with_a_warning(tiny_tokenizer):
    loud = X * 4
    with pytest.warns(UserWarning, match="beyond \\[-1, 1\\]; they are clipped"):
        clipped = tiny_tokenizer.encode(loud)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(clipped.acoustic, tiny_tokenizer.encode(loud.clamp(-1, 1)).acoustic)


def test_every_error_is_a_hac_error_and_a_builtin():
    assert issubclass(AudioInputError, (HACError, ValueError)) and issubclass(AudioFileError, (HACError, OSError))
    assert issubclass(TokenError, ValueError) and issubclass(CheckpointError, HACError)
    assert issubclass(StreamError, TokenError) and issubclass(WindowError, (HACError, ValueError))
    assert not issubclass(StreamError, AudioInputError) and not issubclass(WindowError, AudioInputError)


def test_error_classes_live_in_errors_modules():
    """Every error class is defined in its package's errors.py (core, evaluation, training), nowhere else."""
    import ast

    import hac_tokenizer

    package = Path(hac_tokenizer.__file__).parent
    stray = [
        f"{path.relative_to(package)}:{node.lineno} {node.name}"
        for path in package.rglob("*.py") if path.name != "errors.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Error")
    ]
    assert not stray
    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("errors.py")) == [
        "errors.py", "evaluation/errors.py", "training/errors.py"
    ]


def test_matrix_has_at_least_30_rows():
    rows = [*ENCODE_ROWS, *FILE_ROWS, *DECODE_ROWS, *VOICE_ROWS, *LOAD_ROWS, *PRETRAINED_ROWS, *DEVICE_ROWS, *DATASET_ROWS, *CLI_ROWS]
    assert len(rows) >= 30 and len({row.id for row in rows}) == len(rows)
