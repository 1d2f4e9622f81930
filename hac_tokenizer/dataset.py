"""``hac-tokenizer tokenize-dataset``: tokenize a corpus into shard files, over many processes, resumably.

Layout of ``--out``::

    plan.json              the items (id, audio, duration) and which items form each shard (fixed at the first run)
    shards/shard-000017.npz  tokens of one shard, written atomically (temporary file + rename)
    index-rank-0.json      shards this rank finished (rewritten atomically after each shard)
    index.json             every shard with its items, frames and failures (written once all ranks finish)

A shard file is a token file (:meth:`HACTokens.save`, packed layout: the items back to back with ``offsets``)
holding the shard's tokenized items as one batch, plus ``shard_version``, the item ``ids`` in batch order and the
``failed_ids`` / ``failed_errors`` of the items that could not be tokenized. :func:`load_shard` checks all of it.

Items are sorted by duration and cut into shards of ``shard_size``, so a shard, and every batch in it,
holds items of similar length (little padding). Shard ``s`` belongs to rank ``s % world_size``; under
``torchrun`` the rank and world size come from the environment. A shard file exists only once all its
items are encoded, so a killed run resumes by skipping existing shards: nothing lost, nothing twice,
even with another number of processes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .atomic import atomic_write
from .audio import AudioFile, list_audio_files, to_mono_items
from .errors import AudioFileError, DatasetError, HACError
from .manifest import read_manifest
from .tokenizer import HACTokenizer
from .tokens import HACTokens, read_npz

PLAN_VERSION = 1
SHARD_VERSION = 1
_SHARD_NAMES = ("ids", "failed_ids", "failed_errors")  # the shard's own arrays, beside the token file's
log = logging.getLogger("hac_tokenizer")


@dataclass(frozen=True)
class Item:
    id: str
    audio: str  # absolute path
    duration: float  # seconds, for length bucketing


@dataclass(frozen=True)
class Settings:
    """How to tokenize: batching, windows, workers. Saved nowhere; may change between resumed runs."""

    shard_size: int = 256
    batch_size: int = 16
    batch_seconds: float = 320.0  # padded audio per batch: bounds memory whatever the items' lengths
    num_workers: int = 2
    streams: tuple[str, ...] | None = None
    window_seconds: float | None = 30.0
    overlap_seconds: float = 5.0
    progress: bool = True
    fail_fast: bool = False  # stop at the first unusable item instead of recording it and going on


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0


# -- listing and planning -------------------------------------------------------------------------
def list_items(source: str | os.PathLike) -> list[Item]:
    """Items of a JSONL manifest (``.jsonl``/``.json``) or of every audio file under a directory."""
    source = Path(source)
    if source.is_file() and source.suffix in (".jsonl", ".json"):
        items = [Item(e.id, str(e.audio.resolve()), e.duration) for e in read_manifest(source)]
    elif source.is_dir():
        items = [
            Item(path.relative_to(source).with_suffix("").as_posix(), str(path.resolve()), _duration(path))
            for path in list_audio_files(source)
        ]
    else:
        raise DatasetError(f"{source} is neither a JSONL manifest nor a directory of audio files.")
    if not items:
        raise DatasetError(f"{source} lists no audio items.")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"item id {duplicate!r} appears more than once in {source}; ids must be unique.")
    return items


def _duration(path: Path) -> float:
    try:
        return AudioFile(path).duration
    except AudioFileError:  # unreadable: sort it anywhere; the worker reports the real error for that item
        return 0.0


def plan_shards(items: list[Item], shard_size: int) -> list[list[int]]:
    """Indices of ``items`` per shard: sorted by (duration, id), cut every ``shard_size``."""
    if shard_size < 1:
        raise DatasetError(f"shard_size must be >= 1, got {shard_size}.")
    order = sorted(range(len(items)), key=lambda i: (items[i].duration, items[i].id))
    return [order[i : i + shard_size] for i in range(0, len(order), shard_size)]


def shards_of_rank(num_shards: int, rank: Rank) -> list[int]:
    return list(range(rank.rank, num_shards, rank.world_size))


def load_or_create_plan(out: Path, source: str | os.PathLike, shard_size: int, rank: Rank) -> dict:
    """The run's plan: created by rank 0 on the first run, read back by everyone (and on resume)."""
    path = out / "plan.json"
    if rank.rank == 0 and not path.exists():
        items = list_items(source)
        plan = {
            "version": PLAN_VERSION, "source": str(Path(source).resolve()), "shard_size": shard_size,
            "items": [asdict(item) for item in items], "shards": plan_shards(items, shard_size),
        }
        _write_json(path, plan)
    _barrier(rank)
    try:
        plan = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path} is unreadable ({err}); delete {out} to start the run over.") from err
    if not isinstance(plan, dict):
        raise DatasetError(f"{path} is not a tokenize-dataset plan; delete {out} to start the run over.")
    if plan.get("version") != PLAN_VERSION or plan.get("source") != str(Path(source).resolve()):
        raise DatasetError(
            f"{out} holds the plan of another run ({plan.get('source')}); pass a new --out directory, "
            "or the same source to resume."
        )
    return plan


# -- audio loading in DataLoader workers -----------------------------------------------------------
class AudioItems(Dataset):
    """``[i] -> (i, waveform [S] at the model rate)``, or ``(i, message)`` for an unusable file."""

    def __init__(self, items: list[Item], sample_rate: int) -> None:
        self.items, self.sample_rate = items, sample_rate

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | str]:
        try:
            return index, to_mono_items(self.items[index].audio, None, self.sample_rate)[0]
        except HACError as err:
            return index, str(err)


def _as_list(batch: list) -> list:
    return batch


def bucket_batches(shard: list[int], items: list[Item], batch_size: int, batch_seconds: float) -> Iterator[list[int]]:
    """Consecutive length-sorted items, at most ``batch_size`` and ``batch_seconds`` of padded audio each."""
    batch: list[int] = []
    for index in sorted(shard, key=lambda i: items[i].duration):
        longest = max([items[i].duration for i in batch] + [items[index].duration])
        if batch and (len(batch) == batch_size or longest * (len(batch) + 1) > batch_seconds):
            yield batch
            batch = []
        batch.append(index)
    if batch:
        yield batch


# -- shard files ------------------------------------------------------------------------------------
def shard_path(out: Path, shard: int) -> Path:
    return out / "shards" / f"shard-{shard:06d}.npz"


@dataclass(frozen=True)
class Shard:
    """One shard file: its items' ``ids``, their ``tokens`` as one batch in that order (None when every item
    failed), and ``failed`` (item id -> why it could not be tokenized)."""

    ids: list[str]
    tokens: HACTokens | None
    failed: dict[str, str]

    def items(self) -> dict[str, HACTokens]:
        """Item id -> its ``HACTokens`` (B = 1, no padding)."""
        return {} if self.tokens is None else dict(zip(self.ids, self.tokens.unbatch()))


def write_shard(path: Path, ids: list[str], tokens: list[HACTokens], failed: dict[str, str]) -> None:
    """Items' tokens (B = 1 each, in ``ids`` order) as one packed token file with the shard's ids; atomic."""
    arrays = HACTokens.collate(tokens).to_arrays(packed=True) if tokens else {}
    arrays |= {
        "shard_version": np.int64(SHARD_VERSION),
        "ids": np.array(ids, dtype=np.str_),
        "failed_ids": np.array(list(failed), dtype=np.str_),
        "failed_errors": np.array(list(failed.values()), dtype=np.str_),
    }
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def load_shard(path: str | os.PathLike) -> Shard:
    """Read and check a shard file written by :func:`write_shard`.

    Raises :class:`DatasetError` for a file that is not a shard of this version or whose ids do not match its
    tokens, and :class:`~hac_tokenizer.errors.TokenError` for tokens that fail the token file's checks.
    """
    arrays = read_npz(path)
    version = arrays.get("shard_version")
    if version is None or version.ndim != 0 or version.dtype.kind not in "iu" or int(version) != SHARD_VERSION:
        found = "none" if version is None else version.tolist()
        raise DatasetError(
            f"{path} is not a tokenize-dataset shard of version {SHARD_VERSION} (shard_version: {found}); "
            "delete the shard to have it tokenized again, or read it with the hac-tokenizer that wrote it."
        )
    names = {}
    for key in _SHARD_NAMES:
        value = arrays.get(key)
        if value is None or value.ndim != 1 or (value.size and value.dtype.kind != "U"):
            raise DatasetError(f"{path}: {key} is missing or not a list of strings; the shard is corrupt.")
        names[key] = value.tolist()
    ids = names["ids"]
    if len(names["failed_ids"]) != len(names["failed_errors"]) or len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: failed_ids and failed_errors do not pair up, or ids repeat; the shard is corrupt.")
    tokens = HACTokens.from_arrays(arrays, path) if ids else None
    if tokens is not None and tokens.batch_size != len(ids):
        raise DatasetError(f"{path}: {len(ids)} ids for {tokens.batch_size} tokenized items; the shard is corrupt.")
    if tokens is None and "lengths" in arrays:
        raise DatasetError(f"{path}: tokens without item ids; the shard is corrupt.")
    return Shard(ids, tokens, dict(zip(names["failed_ids"], names["failed_errors"])))


def read_shard(path: str | os.PathLike) -> dict[str, HACTokens]:
    """Item id -> its ``HACTokens`` (B = 1), from a shard file written by :func:`write_shard` (checked)."""
    return load_shard(path).items()


def _write_json(path: Path, payload: dict) -> None:
    with atomic_write(path, "w") as f:
        f.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")


# -- the run -----------------------------------------------------------------------------------------
def rank_from_env() -> Rank:
    """Rank, world size and local rank as ``torchrun`` sets them (one process without it)."""
    env = os.environ
    return Rank(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def _barrier(rank: Rank) -> None:
    if rank.world_size > 1 and dist.is_initialized():
        dist.barrier()


def _encode_batch(tok: HACTokenizer, waveforms: list[torch.Tensor], settings: Settings) -> list[HACTokens]:
    options = {"streams": settings.streams, "window_seconds": settings.window_seconds,
               "overlap_seconds": settings.overlap_seconds}
    return [t.to("cpu") for t in tok.encode(waveforms, **options).unbatch()]


def tokenize_dataset(
    tok: HACTokenizer,
    source: str | os.PathLike,
    out: str | os.PathLike,
    settings: Settings = Settings(),
    rank: Rank = Rank(),
    on_shard_written: Callable[[int], None] | None = None,
) -> list[int]:
    """Tokenize this rank's pending shards of ``source`` into ``out``; returns the shards it wrote.

    Call on every rank (``torch.distributed`` initialised when ``world_size > 1``); rank 0 writes
    ``index.json`` once all ranks are done. ``on_shard_written(shard)`` runs after each shard file lands.
    """
    out = Path(out)
    plan = load_or_create_plan(out, source, settings.shard_size, rank)
    items = [Item(**row) for row in plan["items"]]
    # a half-written shard of a killed run is a hidden temporary file that writing the shard again replaces
    pending = [s for s in shards_of_rank(len(plan["shards"]), rank) if not shard_path(out, s).exists()]
    batches = [
        (shard, batch) for shard in pending
        for batch in bucket_batches(plan["shards"][shard], items, settings.batch_size, settings.batch_seconds)
    ]
    loader = DataLoader(
        AudioItems(items, tok.sample_rate), batch_sampler=[b for _, b in batches], collate_fn=_as_list,
        num_workers=settings.num_workers, persistent_workers=False,
    )
    remaining = {shard: len(plan["shards"][shard]) for shard in pending}
    done: dict[int, dict[str, HACTokens | str]] = {shard: {} for shard in pending}
    written = []
    total = sum(remaining.values())
    with tqdm(total=total, desc=f"rank {rank.rank}", unit="item", disable=not settings.progress,
              position=rank.local_rank) as bar:
        for (shard, _), loaded in zip(batches, loader):
            results = _encode_loaded(tok, items, loaded, settings)
            _log_failures(results, settings.fail_fast)
            done[shard] |= results
            remaining[shard] -= len(loaded)
            bar.update(len(loaded))
            if remaining[shard] == 0:
                _finish_shard(out, shard, plan["shards"][shard], items, done.pop(shard))
                written.append(shard)
                _write_json(out / f"index-rank-{rank.rank}.json", {"rank": rank.rank, "shards_written": written})
                if on_shard_written is not None:
                    on_shard_written(shard)
    _barrier(rank)
    if rank.rank == 0:
        write_index(out, plan)
    return written


def _encode_loaded(
    tok: HACTokenizer, items: list[Item], loaded: list[tuple[int, torch.Tensor | str]], settings: Settings
) -> dict[str, HACTokens | str]:
    """Tokens (or an error message) per item id; a failing batch is retried item by item."""
    results: dict[str, HACTokens | str] = {items[i].id: w for i, w in loaded if isinstance(w, str)}
    good = [(i, w) for i, w in loaded if not isinstance(w, str)]
    try:
        tokens = _encode_batch(tok, [w for _, w in good], settings) if good else []
        results |= {items[i].id: t for (i, _), t in zip(good, tokens)}
    except HACError:
        for i, w in good:
            try:
                results[items[i].id] = _encode_batch(tok, [w], settings)[0]
            except HACError as err:
                results[items[i].id] = str(err)
    return results


def _log_failures(results: dict[str, HACTokens | str], fail_fast: bool) -> None:
    """Log each item that could not be tokenized (its shard records it too); ``fail_fast`` stops at the first."""
    for item_id, result in results.items():
        if isinstance(result, str):
            if fail_fast:
                raise DatasetError(f"item {item_id!r}: {result} (stopped by fail_fast; fix or drop the item, then resume).")
            log.warning("skipped %s: %s", item_id, result)


def _finish_shard(out: Path, shard: int, members: list[int], items: list[Item], results: dict) -> None:
    ids = [items[i].id for i in members if not isinstance(results[items[i].id], str)]
    failed = {items[i].id: results[items[i].id] for i in members if isinstance(results[items[i].id], str)}
    write_shard(shard_path(out, shard), ids, [results[i] for i in ids], failed)


def write_index(out: Path, plan: dict) -> dict:
    """``index.json``: per shard its file, item ids, frames and failures; ``complete`` once all exist."""
    shards = []
    for shard in range(len(plan["shards"])):
        path = shard_path(out, shard)
        if not path.exists():
            continue
        content = load_shard(path)
        frames = 0 if content.tokens is None else int(content.tokens.lengths.sum())
        shards.append({"shard": shard, "file": str(path.relative_to(out)), "ids": content.ids, "frames": frames,
                       "failed": content.failed})
    index = {
        "complete": len(shards) == len(plan["shards"]), "num_shards": len(plan["shards"]),
        "num_items": sum(len(s["ids"]) for s in shards),
        "num_failed": sum(len(s["failed"]) for s in shards), "shards": shards,
    }
    _write_json(out / "index.json", index)
    return index


def run_from_env(tok_factory: Callable[[str], HACTokenizer], source: str, out: str, device: str,
                 settings: Settings) -> list[int]:
    """Entry point for the CLI: joins the process group ``torchrun`` describes, picks this rank's device."""
    rank = rank_from_env()
    started = rank.world_size > 1 and not dist.is_initialized()
    if started:
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    try:
        if device == "cuda" and rank.world_size > 1:
            device = f"cuda:{rank.local_rank}"
        return tokenize_dataset(tok_factory(device), source, out, settings, rank)
    finally:
        if started:
            dist.destroy_process_group()

