"""``hac-tokenizer tokenize-dataset``: tokenize a corpus into shard files, over many processes, resumably.

Layout of ``--out``::

    plan.json              the items (id, audio, duration), the shard format and which items form each shard
                           (fixed at the first run)
    shards/shard-000017.npz  tokens of one shard (or .parquet), written atomically (temporary file + rename)
    index-rank-0.json      shards this rank finished (rewritten atomically after each shard)
    index.json             every shard with its items, frames and failures (written once all ranks finish)

The corpus is any :class:`~hac_tokenizer.sources.Source`: audio files (a path), a saved ``datasets`` dataset, a
Lhotse CutSet. A shard file holds the shard's tokenized items, their ids and the items that could not be
tokenized, in one schema whichever the format (npz or Parquet: :mod:`hac_tokenizer.shards`, which writes and
checks them; :func:`load_shard` and :func:`read_shard` read either).

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

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .atomic import atomic_write
from .errors import DatasetError, HACError
from .shards import SHARD_FORMATS, Shard, load_shard, read_shard, write_shard
from .sources import Item, Source, as_source, list_items
from .tokenizer import HACTokenizer
from .tokens import HACTokens

__all__ = [  # the shard and item names stay importable from here, where tokenize-dataset's users look
    "DatasetError",
    "Item",
    "Rank",
    "Settings",
    "Shard",
    "bucket_batches",
    "list_items",
    "load_shard",
    "plan_shards",
    "read_shard",
    "shard_path",
    "shards_of_rank",
    "tokenize_dataset",
    "write_shard",
]

PLAN_VERSION = 1
log = logging.getLogger("hac_tokenizer")


@dataclass(frozen=True)
class Settings:
    """How to tokenize: batching, windows, workers. Saved nowhere; may change between resumed runs, except
    ``shard_size`` and ``shard_format``, which the first run's plan fixes (``shard_format`` None: the plan's,
    npz for a new run)."""

    shard_size: int = 256
    shard_format: str | None = None
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


# -- planning -------------------------------------------------------------------------------------
def plan_shards(items: list[Item], shard_size: int) -> list[list[int]]:
    """Indices of ``items`` per shard: sorted by (duration, id), cut every ``shard_size``."""
    if shard_size < 1:
        raise DatasetError(f"shard_size must be >= 1, got {shard_size}.")
    order = sorted(range(len(items)), key=lambda i: (items[i].duration, items[i].id))
    return [order[i : i + shard_size] for i in range(0, len(order), shard_size)]


def shards_of_rank(num_shards: int, rank: Rank) -> list[int]:
    return list(range(rank.rank, num_shards, rank.world_size))


def load_or_create_plan(out: Path, source: Source, settings: Settings, rank: Rank) -> dict:
    """The run's plan: created by rank 0 on the first run, read back by everyone (and on resume)."""
    path = out / "plan.json"
    if settings.shard_format not in (None, *SHARD_FORMATS):
        raise DatasetError(f"shard format {settings.shard_format!r} is not one of {', '.join(SHARD_FORMATS)}.")
    if rank.rank == 0 and not path.exists():
        items = list_items(source)
        plan = {
            "version": PLAN_VERSION,
            "source": source.key,
            "shard_size": settings.shard_size,
            "format": settings.shard_format or "npz",
            "items": [asdict(item) for item in items],
            "shards": plan_shards(items, settings.shard_size),
        }
        _write_json(path, plan)
    _barrier(rank)
    try:
        plan = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path} is unreadable ({err}); delete {out} to start the run over.") from err
    if not isinstance(plan, dict):
        raise DatasetError(f"{path} is not a tokenize-dataset plan; delete {out} to start the run over.")
    if plan.get("version") != PLAN_VERSION or plan.get("source") != source.key:
        raise DatasetError(
            f"{out} holds the plan of another run ({plan.get('source')}); pass a new --out directory, "
            "or the same source to resume."
        )
    plan.setdefault("format", "npz")  # plans written before Parquet shards existed
    if settings.shard_format not in (None, plan["format"]):
        raise DatasetError(
            f"{out} holds a run writing {plan['format']} shards; resume it with --format {plan['format']}, "
            f"or pass a new --out directory for {settings.shard_format} shards."
        )
    return plan


# -- audio loading in DataLoader workers -----------------------------------------------------------
class AudioItems(Dataset):
    """``[i] -> (i, waveform [S] at the model rate)``, or ``(i, message)`` for an unusable item."""

    def __init__(self, source: Source, items: list[Item], sample_rate: int) -> None:
        self.source, self.items, self.sample_rate = source, items, sample_rate

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | str]:
        try:
            return index, self.source.load(self.items[index], self.sample_rate)
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
def shard_path(out: Path, shard: int, fmt: str = "npz") -> Path:
    return out / "shards" / f"shard-{shard:06d}.{fmt}"


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
    options = {
        "streams": settings.streams,
        "window_seconds": settings.window_seconds,
        "overlap_seconds": settings.overlap_seconds,
    }
    return [t.to("cpu") for t in tok.encode(waveforms, **options).unbatch()]


def tokenize_dataset(
    tok: HACTokenizer,
    source: str | os.PathLike | Source,
    out: str | os.PathLike,
    settings: Settings = Settings(),
    rank: Rank = Rank(),
    on_shard_written: Callable[[int], None] | None = None,
) -> list[int]:
    """Tokenize this rank's pending shards of ``source`` into ``out``; returns the shards it wrote.

    ``source``: a :class:`~hac_tokenizer.sources.Source`, or the path of a JSONL manifest or audio directory.
    Call on every rank (``torch.distributed`` initialised when ``world_size > 1``); rank 0 writes
    ``index.json`` once all ranks are done. ``on_shard_written(shard)`` runs after each shard file lands.
    """
    out, source = Path(out), as_source(source)
    plan = load_or_create_plan(out, source, settings, rank)
    items, fmt = [Item(**row) for row in plan["items"]], plan["format"]
    # a half-written shard of a killed run is a hidden temporary file that writing the shard again replaces
    pending = [s for s in shards_of_rank(len(plan["shards"]), rank) if not shard_path(out, s, fmt).exists()]
    batches = [
        (shard, batch)
        for shard in pending
        for batch in bucket_batches(plan["shards"][shard], items, settings.batch_size, settings.batch_seconds)
    ]
    loader = DataLoader(
        AudioItems(source, items, tok.sample_rate),
        batch_sampler=[b for _, b in batches],
        collate_fn=_as_list,
        num_workers=settings.num_workers,
        persistent_workers=False,
    )
    remaining = {shard: len(plan["shards"][shard]) for shard in pending}
    done: dict[int, dict[str, HACTokens | str]] = {shard: {} for shard in pending}
    written = []
    total = sum(remaining.values())
    with tqdm(
        total=total, desc=f"rank {rank.rank}", unit="item", disable=not settings.progress, position=rank.local_rank
    ) as bar:
        for (shard, _), loaded in zip(batches, loader):
            results = _encode_loaded(tok, items, loaded, settings)
            _log_failures(results, settings.fail_fast)
            done[shard] |= results
            remaining[shard] -= len(loaded)
            bar.update(len(loaded))
            if remaining[shard] == 0:
                _finish_shard(shard_path(out, shard, fmt), plan["shards"][shard], items, done.pop(shard))
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
                raise DatasetError(
                    f"item {item_id!r}: {result} (stopped by fail_fast; fix or drop the item, then resume)."
                )
            log.warning("skipped %s: %s", item_id, result)


def _finish_shard(path: Path, members: list[int], items: list[Item], results: dict) -> None:
    ids = [items[i].id for i in members if not isinstance(results[items[i].id], str)]
    failed = {items[i].id: results[items[i].id] for i in members if isinstance(results[items[i].id], str)}
    write_shard(path, ids, [results[i] for i in ids], failed)


def write_index(out: Path, plan: dict) -> dict:
    """``index.json``: per shard its file, item ids, frames and failures; ``complete`` once all exist."""
    shards = []
    for shard in range(len(plan["shards"])):
        path = shard_path(out, shard, plan["format"])
        if not path.exists():
            continue
        content = load_shard(path)
        frames = 0 if content.tokens is None else int(content.tokens.lengths.sum())
        shards.append(
            {
                "shard": shard,
                "file": str(path.relative_to(out)),
                "ids": content.ids,
                "frames": frames,
                "failed": content.failed,
            }
        )
    index = {
        "complete": len(shards) == len(plan["shards"]),
        "format": plan["format"],
        "num_shards": len(plan["shards"]),
        "num_items": sum(len(s["ids"]) for s in shards),
        "num_failed": sum(len(s["failed"]) for s in shards),
        "shards": shards,
    }
    _write_json(out / "index.json", index)
    return index


def run_from_env(
    tok_factory: Callable[[str], HACTokenizer], source: str | Source, out: str, device: str, settings: Settings
) -> list[int]:
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
