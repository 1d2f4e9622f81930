"""tokenize-dataset: planning, sharding over ranks, shard contents, resume after a kill (2 gloo processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from signals import chirp

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.config import tiny_config
from hac_tokenizer.dataset import (
    DatasetError,
    Item,
    Rank,
    Settings,
    bucket_batches,
    list_items,
    load_shard,
    plan_shards,
    read_shard,
    shard_path,
    shards_of_rank,
    tokenize_dataset,
    write_shard,
)
from hac_tokenizer.errors import TokenError
from hac_tokenizer.manifest import ManifestEntry, write_manifest

SETTINGS = Settings(shard_size=2, batch_size=2, num_workers=0, progress=False)


def make_corpus(root: Path, count: int) -> Path:
    """``count`` short wavs of four lengths in two speaker folders."""
    audio = root / "audio"
    for i in range(count):
        path = audio / f"spk{i % 2}" / f"utt{i:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, chirp(1600 + 800 * (i % 4), seed=i).numpy(), 16000)
    return audio


def all_ids(out: Path) -> list[str]:
    ids = []
    for path in sorted((out / "shards").glob("shard-*.npz")):
        with np.load(path) as data:
            ids += data["ids"].tolist() + data["failed_ids"].tolist()
    return ids


def tiny() -> HACTokenizer:
    torch.manual_seed(0)
    return HACTokenizer.from_config(tiny_config())


def test_items_from_directory_and_manifest(tmp_path: Path) -> None:
    audio = make_corpus(tmp_path, 3)
    from_dir = list_items(audio)
    assert [i.id for i in from_dir] == ["spk0/utt00", "spk0/utt02", "spk1/utt01"]
    assert from_dir[0].duration == pytest.approx(0.1)
    entries = [ManifestEntry(i.id.replace("/", "-"), Path(i.audio), i.duration, "en", "s") for i in from_dir]
    manifest = write_manifest(tmp_path / "m.jsonl", entries)
    assert [i.id for i in list_items(manifest)] == [e.id for e in entries]
    with pytest.raises(DatasetError):
        list_items(tmp_path / "missing")


def test_shards_cover_every_item_once_over_any_world_size() -> None:
    items = [Item(f"u{i}", f"/a/{i}.wav", duration=(i * 7) % 5) for i in range(23)]
    shards = plan_shards(items, 4)
    assert sorted(i for s in shards for i in s) == list(range(23))
    durations = [items[i].duration for s in shards for i in s]
    assert durations == sorted(durations)  # length-bucketed
    for world in (1, 2, 3, 8):
        owned = [s for r in range(world) for s in shards_of_rank(len(shards), Rank(r, world))]
        assert sorted(owned) == list(range(len(shards)))


def test_batches_respect_size_and_seconds() -> None:
    items = [Item(f"u{i}", "", duration=d) for i, d in enumerate([1, 9, 2, 8, 3, 30])]
    batches = list(bucket_batches(list(range(6)), items, batch_size=3, batch_seconds=20))
    assert sorted(i for b in batches for i in b) == list(range(6))
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or max(items[i].duration for i in batch) * len(batch) <= 20


def test_shards_hold_the_tokens_of_each_item(tmp_path: Path) -> None:
    audio = make_corpus(tmp_path, 5)
    (audio / "broken.wav").write_bytes(b"not audio")
    tok = tiny()
    out = tmp_path / "out"
    tokenize_dataset(tok, audio, out, SETTINGS)
    index = json.loads((out / "index.json").read_text())
    assert index["complete"] and index["num_items"] == 5 and index["num_failed"] == 1
    assert sorted(all_ids(out)) == sorted(i.id for i in list_items(audio))
    stored = {k: v for s in range(index["num_shards"]) for k, v in read_shard(shard_path(out, s)).items()}
    for item in list_items(audio):
        if item.id == "broken":
            continue
        expected = tok.encode(item.audio)
        for name, tokens in expected.streams().items():
            assert torch.equal(stored[item.id].streams()[name], tokens), (item.id, name)
        assert stored[item.id].sample_lengths.tolist() == expected.sample_lengths.tolist()


def test_a_shard_is_a_packed_token_file_with_item_ids(tmp_path: Path) -> None:
    tok = tiny()
    items = [tok.encode(chirp(n, seed=n)) for n in (1600, 3300, 640)]
    path = tmp_path / "s.npz"
    write_shard(path, ["a", "b", "c"], items, {"d": "audio contains NaN"})
    shard = load_shard(path)
    assert shard.ids == ["a", "b", "c"] and shard.failed == {"d": "audio contains NaN"}
    batch = HACTokens.load(path)  # any token-file reader reads a shard as one batch
    assert batch.lengths.tolist() == [5, 11, 2] and torch.equal(batch.acoustic, shard.tokens.acoustic)
    for item_id, expected in zip(shard.ids, items):
        got = read_shard(path)[item_id]
        assert all(torch.equal(got.streams()[n], t) for n, t in expected.streams().items()), item_id
        assert (
            got.vocab_sizes == expected.vocab_sizes and got.sample_lengths.tolist() == expected.sample_lengths.tolist()
        )
    with np.load(path) as data:
        assert data["format_version"] == 2 and data["offsets"].tolist() == [0, 5, 16, 18]
        assert data["lexical"].shape == (18,) and data["lexical"].dtype == np.int16
    write_shard(tmp_path / "empty.npz", [], [], {"e": "corrupt"})  # every item failed
    empty = load_shard(tmp_path / "empty.npz")
    assert empty.tokens is None and empty.items() == {} and empty.failed == {"e": "corrupt"}


def _edited_shard(tmp_path: Path, **override) -> Path:
    write_shard(tmp_path / "ok.npz", ["a", "b"], [tiny().encode(chirp(n)) for n in (1600, 960)], {})
    with np.load(tmp_path / "ok.npz") as data:
        arrays = {k: data[k] for k in data.files} | override
    np.savez(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    return tmp_path / "bad.npz"


@pytest.mark.parametrize(
    ("override", "error", "fragment"),
    [
        ({"shard_version": None}, DatasetError, "shard_version: none"),  # a shard of the unversioned format
        ({"shard_version": np.int64(9)}, DatasetError, "shard_version: 9"),
        ({"ids": np.array(["a"])}, DatasetError, "1 ids for 2 tokenized items"),
        ({"ids": np.array(["a", "a"])}, DatasetError, "ids repeat"),
        ({"ids": np.array([1, 2])}, DatasetError, "ids is missing or not a list of strings"),
        ({"failed_errors": None}, DatasetError, "failed_errors is missing"),
        ({"failed_ids": np.array(["x"])}, DatasetError, "do not pair up"),
        ({"offsets": np.array([0, 3, 8])}, TokenError, "do not add up to lengths"),
        ({"lexical": np.zeros(8, np.float32)}, TokenError, "expected integers"),
        ({"lengths": None}, TokenError, "lacks ['lengths']"),
    ],
)
def test_a_broken_shard_is_refused_with_what_is_wrong(tmp_path: Path, override, error, fragment) -> None:
    path = _edited_shard(tmp_path, **override)
    with pytest.raises(error) as info:
        load_shard(path)
    assert fragment in str(info.value) and "bad.npz" in str(info.value)


def test_resume_rewrites_only_missing_shards(tmp_path: Path) -> None:
    audio = make_corpus(tmp_path, 6)
    out = tmp_path / "out"
    tokenize_dataset(tiny(), audio, out, SETTINGS)
    kept = {p: p.stat().st_mtime_ns for p in (out / "shards").glob("*.npz")}
    lost = shard_path(out, 1)
    lost.unlink()
    half_written = lost.with_name(f".{lost.name}.tmp")  # as a kill during np.savez leaves it
    half_written.write_bytes(b"PK")
    assert tokenize_dataset(tiny(), audio, out, SETTINGS) == [1]
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items() if p != lost)
    assert not half_written.exists()
    assert sorted(all_ids(out)) == sorted(i.id for i in list_items(audio))


def test_another_source_in_the_same_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    tokenize_dataset(tiny(), make_corpus(tmp_path / "a", 2), out, SETTINGS)
    with pytest.raises(DatasetError, match="new --out"):
        tokenize_dataset(tiny(), make_corpus(tmp_path / "b", 2), out, SETTINGS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, world: int, port: int, audio: str, out: str, kill_after: int | None) -> None:
    """One torchrun-like process: joins a gloo group and tokenizes its shards; may kill itself mid-run."""
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    written = []

    def on_shard(shard: int) -> None:
        written.append(shard)
        if rank == 1 and kill_after is not None and len(written) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # as a node failure or an OOM killer would

    tokenize_dataset(tiny(), audio, out, SETTINGS, Rank(rank, world, rank), on_shard)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_killed_midway_resume_without_loss_or_duplicates(tmp_path: Path) -> None:
    audio = make_corpus(tmp_path, 12)  # 6 shards: 3 per rank
    out = tmp_path / "out"
    with pytest.raises(mp.ProcessExitedException):
        mp.spawn(_rank_main, args=(2, _free_port(), str(audio), str(out), 1), nprocs=2)
    before = {p: p.stat().st_mtime_ns for p in (out / "shards").glob("shard-*.npz")}
    assert 1 <= len(before) < 6  # killed in the middle
    mp.spawn(_rank_main, args=(2, _free_port(), str(audio), str(out), None), nprocs=2)
    ids = all_ids(out)
    assert sorted(ids) == sorted(i.id for i in list_items(audio)) and len(ids) == len(set(ids))
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # finished shards were not redone
    index = json.loads((out / "index.json").read_text())
    assert index["complete"] and index["num_items"] == 12
    assert not list((out / "shards").glob(".*tmp"))
