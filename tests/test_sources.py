"""Corpora tokenize-dataset reads: a saved datasets dataset and a Lhotse CutSet give the tokens of their audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from signals import chirp

from hac_tokenizer.audio import to_mono_items
from hac_tokenizer.dataset import Settings, read_shard, shard_path, tokenize_dataset
from hac_tokenizer.errors import AudioFileError, AudioInputError, DatasetError
from hac_tokenizer.sources import HFDatasetSource, LhotseSource, audio_from_hf, list_items

SETTINGS = Settings(shard_size=2, batch_size=2, num_workers=0, progress=False, shard_format="parquet")


def write_wavs(root: Path) -> list[Path]:
    """An 8 kHz mono int16 file and a 16 kHz stereo float file: both need the shared downmix/resample path."""
    root.mkdir(parents=True, exist_ok=True)
    mono = (chirp(1200, sample_rate=8000, seed=1).numpy() * 2**15 * 0.9).astype(np.int16)
    sf.write(root / "a.wav", mono, 8000, subtype="PCM_16")
    stereo = torch.stack([chirp(2400, seed=2), chirp(2400, seed=3) * 0.5]).T.numpy()
    sf.write(root / "b.wav", stereo, 16000, subtype="FLOAT")
    return [root / "a.wav", root / "b.wav"]


def saved_dataset(tmp_path: Path, **columns) -> Path:
    datasets = pytest.importorskip("datasets")
    wavs = write_wavs(tmp_path / "wavs")
    ds = datasets.Dataset.from_dict({"audio": [str(p) for p in wavs], **columns})
    ds.cast_column("audio", datasets.Audio()).save_to_disk(tmp_path / "ds")  # embeds the files' bytes
    return tmp_path / "ds"


def stored_tokens(out: Path, num_shards: int) -> dict:
    return {k: v for s in range(num_shards) for k, v in read_shard(shard_path(out, s, "parquet")).items()}


def test_a_saved_dataset_gives_the_tokens_of_its_files(tiny_tokenizer, tmp_path: Path) -> None:
    directory = saved_dataset(tmp_path, name=["first", "second"])
    for path in directory.parent.glob("wavs/*"):
        path.unlink()  # the bytes saved in the dataset are read, not the files they came from
    source = HFDatasetSource(directory, "audio", id_column="name")
    assert [(i.id, i.duration) for i in list_items(source)] == [("first", 0.15), ("second", 0.15)]
    out = tmp_path / "out"
    tokenize_dataset(tiny_tokenizer, source, out, SETTINGS)
    stored = stored_tokens(out, 1)
    write_wavs(tmp_path / "again")
    for name, wav in zip(("first", "second"), ("a.wav", "b.wav")):
        expected = tiny_tokenizer.encode(tmp_path / "again" / wav)
        for stream, tokens in expected.streams().items():
            assert torch.equal(stored[name].streams()[stream], tokens), (name, stream)


def test_row_numbers_are_ids_and_array_columns_are_read(tiny_tokenizer, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    arrays = [chirp(800, sample_rate=8000, seed=4).numpy(), chirp(1600, seed=5).numpy()]
    rows = [{"array": a, "sampling_rate": r} for a, r in zip(arrays, (8000, 16000))]
    datasets.Dataset.from_dict({"audio": rows}).save_to_disk(tmp_path / "ds")
    source = HFDatasetSource(tmp_path / "ds")
    items = list_items(source)
    assert [i.id for i in items] == ["0", "1"] and [i.duration for i in items] == [0.1, 0.1]
    for item, array, rate in zip(items, arrays, (8000, 16000)):
        got = source.load(item, 16000)
        assert torch.equal(got, to_mono_items([array], rate, 16000)[0])


def test_audio_values_of_every_datasets_version(tmp_path: Path) -> None:
    wav = write_wavs(tmp_path)[0]
    expected = to_mono_items(wav, None, 16000)[0]
    assert torch.equal(audio_from_hf({"bytes": wav.read_bytes(), "path": "elsewhere.wav"}, 16000), expected)
    assert torch.equal(audio_from_hf({"bytes": None, "path": str(wav)}, 16000), expected)
    samples, rate = sf.read(wav, dtype="int16")
    assert torch.equal(audio_from_hf({"array": samples, "sampling_rate": rate}, 16000), expected)
    stereo = {"array": np.stack([samples, samples // 2]), "sampling_rate": rate}  # [C, S]: channels averaged
    assert torch.equal(audio_from_hf(stereo, 16000), to_mono_items([stereo["array"]], rate, 16000)[0])

    class Decoded:  # what a torchcodec AudioDecoder hands out (datasets >= 4 decodes to one)
        def get_all_samples(self):
            return type("Samples", (), {"data": torch.from_numpy(samples[None] / 2**15), "sample_rate": rate})

    assert torch.allclose(audio_from_hf(Decoded(), 16000), expected, atol=1e-6)
    with pytest.raises(AudioInputError, match="no array, bytes or path"):
        audio_from_hf({"bytes": None, "path": None}, 16000, where="row 3")
    with pytest.raises(AudioInputError, match="without its sampling_rate"):
        audio_from_hf({"array": samples}, 16000)
    with pytest.raises(AudioFileError, match="row 3: cannot decode the audio"):
        audio_from_hf({"bytes": b"RIFF nonsense"}, 16000, where="row 3")


def test_unusable_saved_datasets_say_what_to_pass(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    directory = saved_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"no column 'speech'; its columns are \['audio'\]"):
        list_items(HFDatasetSource(directory, "speech"))
    with pytest.raises(DatasetError, match="not a dataset saved"):
        list_items(HFDatasetSource(tmp_path / "wavs"))
    splits = datasets.DatasetDict({"train": datasets.load_from_disk(directory)})
    splits.save_to_disk(tmp_path / "dict")
    with pytest.raises(DatasetError, match="holds the splits"):
        list_items(HFDatasetSource(tmp_path / "dict"))


def test_lhotse_cuts_give_the_tokens_of_their_stretch(tiny_tokenizer, tmp_path: Path) -> None:
    lhotse = pytest.importorskip("lhotse")
    samples = (chirp(16000, seed=6).numpy() * 2**15 * 0.9).astype(np.int16)
    sf.write(tmp_path / "long.wav", samples, 16000, subtype="PCM_16")
    cut = lhotse.Recording.from_file(tmp_path / "long.wav").to_cut()
    stretches = {"early": (0.1, 0.3), "late": (0.5, 0.45)}  # offset, duration (s)
    cuts = lhotse.CutSet.from_cuts(cut.truncate(offset=o, duration=d).with_id(k) for k, (o, d) in stretches.items())
    cuts.to_file(tmp_path / "cuts.jsonl.gz")
    source = LhotseSource(tmp_path / "cuts.jsonl.gz")
    assert [(i.id, i.duration) for i in list_items(source)] == [("early", 0.3), ("late", 0.45)]
    tokenize_dataset(tiny_tokenizer, source, tmp_path / "out", SETTINGS)
    stored = stored_tokens(tmp_path / "out", 1)
    for name, (offset, duration) in stretches.items():
        stretch = samples[round(offset * 16000) : round((offset + duration) * 16000)]
        expected = tiny_tokenizer.encode(torch.from_numpy(stretch))  # int16 PCM, scaled as the file is
        for stream, tokens in expected.streams().items():
            assert torch.equal(stored[name].streams()[stream], tokens), (name, stream)


def test_a_cut_without_audio_is_recorded_as_failed(tiny_tokenizer, tmp_path: Path) -> None:
    lhotse = pytest.importorskip("lhotse")
    sf.write(tmp_path / "gone.wav", chirp(1600).numpy(), 16000)
    sf.write(tmp_path / "kept.wav", chirp(1600).numpy(), 16000)
    cuts = [lhotse.Recording.from_file(tmp_path / f"{n}.wav").to_cut().with_id(n) for n in ("gone", "kept")]
    lhotse.CutSet.from_cuts(cuts).to_file(tmp_path / "cuts.jsonl")
    (tmp_path / "gone.wav").unlink()
    tokenize_dataset(tiny_tokenizer, LhotseSource(tmp_path / "cuts.jsonl"), tmp_path / "out", SETTINGS)
    shard = read_shard(shard_path(tmp_path / "out", 0, "parquet"))
    assert list(shard) == ["kept"]
    with pytest.raises(DatasetError, match="Lhotse manifest not found"):
        list_items(LhotseSource(tmp_path / "missing.jsonl.gz"))
    (tmp_path / "bad.jsonl").write_text('{"not": "a cut"}\n')
    with pytest.raises(DatasetError, match="is not a Lhotse CutSet manifest"):
        list_items(LhotseSource(tmp_path / "bad.jsonl"))
