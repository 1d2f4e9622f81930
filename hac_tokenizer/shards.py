"""Shard files of ``tokenize-dataset``: one schema, two file formats (npz and Parquet), one writer, one reader.

A shard holds the tokens of some items of a corpus. Its fields are the same whichever the format:

* per tokenized item, in shard order: ``id``; ``length`` (valid frames T); ``sample_length`` (samples S at
  ``sample_rate``); ``duration`` (seconds, ``sample_length / sample_rate``); the encoded streams ``lexical [T]``,
  ``phonetic [T]`` and ``acoustic [N, T]``;
* per shard: ``shard_version``, ``model``, ``sample_rate``, ``frame_rate``, ``vocab_sizes`` and ``failed``
  (item id -> why it could not be tokenized).

``.npz``: a packed token file (:meth:`HACTokens.to_arrays` with ``packed=True``: the items' frames back to back,
with ``offsets``), so any token-file reader reads the shard as one batch, plus ``shard_version``, ``ids``,
``failed_ids`` and ``failed_errors``. ``duration`` is not stored: it follows from the lengths.

``.parquet``: one row per tokenized item, columns :data:`PARQUET_COLUMNS`; token ids as ``list<int32>``
(``acoustic``: ``list<list<int32>>``, N lists of T), null in a stream that was not encoded; ``model``,
``sample_rate`` and ``frame_rate`` repeated on every row, so a row read alone (``datasets.load_dataset("parquet")``)
says what made it. ``shard_version``, ``vocab_sizes`` and ``failed`` are in the file's key-value metadata under
``hac_tokenizer``. Every shard has the same Arrow schema (fixed types, every stream column present), so the shards
of a run load as one table. Needs ``pyarrow`` (``pip install "hac-tokenizer[data]"``).

Both formats are written atomically by :func:`write_shard` (the format is the path's suffix) and read by
:func:`load_shard`, which turns a Parquet file into the npz's arrays and checks either through one path:
:meth:`HACTokens.from_arrays` for the tokens, then the shard's own fields.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .atomic import atomic_write
from .errors import DatasetError
from .tokens import STREAMS, HACTokens, read_npz

if TYPE_CHECKING:
    import pyarrow as pa

SHARD_VERSION = 1
SHARD_FORMATS = ("npz", "parquet")
PARQUET_COLUMNS = ("id", "duration", "length", "sample_length", *STREAMS, "model", "sample_rate", "frame_rate")
_SHARD_NAMES = ("ids", "failed_ids", "failed_errors")  # the shard's own arrays, beside the token file's
_METADATA_KEY = b"hac_tokenizer"


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


def shard_format(path: str | os.PathLike) -> str:
    """``"npz"`` or ``"parquet"``, from the path's suffix; :class:`DatasetError` for anything else."""
    suffix = Path(path).suffix.lstrip(".")
    if suffix not in SHARD_FORMATS:
        raise DatasetError(f"{path}: a shard file ends with .npz or .parquet, not {Path(path).suffix or 'nothing'}.")
    return suffix


# -- writing ----------------------------------------------------------------------------------------
def write_shard(path: str | os.PathLike, ids: list[str], tokens: list[HACTokens], failed: dict[str, str]) -> None:
    """Write items' tokens (B = 1 each, in ``ids`` order) and the failed items as one shard file, atomically.

    The format is the suffix of ``path`` (``.npz`` or ``.parquet``); both hold the same fields (module docstring).
    """
    if len(ids) != len(tokens):
        raise DatasetError(f"write_shard got {len(ids)} ids for {len(tokens)} tokenized items; pass one id per item.")
    fmt = shard_format(path)
    batch = HACTokens.collate(tokens) if tokens else None
    if fmt == "npz":
        _write_npz(Path(path), ids, batch, failed)
    else:
        _write_parquet(Path(path), ids, batch, failed)


def _write_npz(path: Path, ids: list[str], batch: HACTokens | None, failed: dict[str, str]) -> None:
    arrays = batch.to_arrays(packed=True) if batch is not None else {}
    arrays |= {
        "shard_version": np.int64(SHARD_VERSION),
        "ids": np.array(ids, dtype=np.str_),
        "failed_ids": np.array(list(failed), dtype=np.str_),
        "failed_errors": np.array(list(failed.values()), dtype=np.str_),
    }
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def _write_parquet(path: Path, ids: list[str], batch: HACTokens | None, failed: dict[str, str]) -> None:
    pa, pq = _pyarrow()
    table = token_table(batch) if batch is not None else _parquet_schema().empty_table().drop_columns(["id"])
    table = table.add_column(0, "id", pa.array(ids, type=pa.string()))
    # failed items as [id, error] pairs: a JSON object would do, but pairs keep the order of the npz arrays
    metadata = {
        "shard_version": SHARD_VERSION,
        "vocab_sizes": {} if batch is None else batch.vocab_sizes,
        "failed": [[item_id, error] for item_id, error in failed.items()],
    }
    table = table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata, ensure_ascii=False).encode()})
    with atomic_write(path) as f:
        if table.num_rows:
            pq.write_table(table, f)
        else:  # no row group at all: readers (datasets' Parquet builder) choke on one of 0 rows
            pq.ParquetWriter(f, table.schema).close()


def token_table(tokens: HACTokens) -> pa.Table:
    """Tokens of a batch as an Arrow table of one row per item: the Parquet shard's columns less ``id``.

    ``lexical``/``phonetic``: ``list<int32>`` of each item's ``[T_b]`` valid frames; ``acoustic``:
    ``list<list<int32>>``, ``[N][T_b]``; a stream the tokens lack is null on every row. ``length``,
    ``sample_length``, ``duration``, ``model``, ``sample_rate`` and ``frame_rate`` as in the module docstring.
    ``token_table(t).to_pydict()`` is what ``datasets.Dataset.map(..., batched=True)`` wants back (README).
    """
    pa, _ = _pyarrow()
    schema = _parquet_schema()
    arrays = tokens.to_arrays(packed=True)
    offsets, lengths = arrays["offsets"], arrays["lengths"]
    batch = len(lengths)
    columns = {
        "duration": arrays["sample_lengths"] / float(tokens.sample_rate),
        "length": lengths,
        "sample_length": arrays["sample_lengths"],
        "model": [tokens.model or ""] * batch,
        "sample_rate": np.full(batch, tokens.sample_rate, dtype=np.int64),
        "frame_rate": np.full(batch, tokens.frame_rate, dtype=np.float64),
    }
    for name in STREAMS:
        kind = schema.field(name).type
        if name not in arrays:
            columns[name] = pa.nulls(batch, type=kind)
        elif name != "acoustic":
            columns[name] = pa.ListArray.from_arrays(offsets.astype(np.int32), arrays[name].astype(np.int32))
        else:
            columns[name] = _nested_lists(arrays[name], offsets, pa)
    return pa.table(
        {name: columns[name] for name in PARQUET_COLUMNS if name != "id"},
        schema=pa.schema([f for f in schema if f.name != "id"]),
    )


def _nested_lists(packed: np.ndarray, offsets: np.ndarray, pa) -> pa.ListArray:
    """Packed ``[N, L]`` (item b in ``offsets[b]:offsets[b + 1]``) -> ``list<list<int32>>``: item b as N lists."""
    layers = packed.shape[0]
    per_item = [packed[:, start:stop].reshape(-1) for start, stop in itertools.pairwise(offsets)]
    values = np.concatenate(per_item).astype(np.int32) if per_item else np.zeros(0, np.int32)
    inner = np.concatenate([[0], np.cumsum(np.repeat(np.diff(offsets), layers))]).astype(np.int32)
    outer = (np.arange(len(offsets)) * layers).astype(np.int32)
    return pa.ListArray.from_arrays(outer, pa.ListArray.from_arrays(inner, values))


def _parquet_schema() -> pa.Schema:
    pa, _ = _pyarrow()
    ids = pa.list_(pa.int32())
    return pa.schema(
        [
            ("id", pa.string()),
            ("duration", pa.float64()),
            ("length", pa.int64()),
            ("sample_length", pa.int64()),
            ("lexical", ids),
            ("phonetic", ids),
            ("acoustic", pa.list_(ids)),
            ("model", pa.string()),
            ("sample_rate", pa.int64()),
            ("frame_rate", pa.float64()),
        ]
    )


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise DatasetError(
            'Parquet shards need pyarrow: pip install "hac-tokenizer[data]" (or use the npz format).'
        ) from err
    return pa, pq


# -- reading ----------------------------------------------------------------------------------------
def load_shard(path: str | os.PathLike) -> Shard:
    """Read and check a shard file written by :func:`write_shard` (``.npz`` or ``.parquet``).

    Raises :class:`DatasetError` for a file that is not a shard of this version or whose ids do not match its
    tokens, and :class:`~hac_tokenizer.errors.TokenError` for tokens that fail the token file's checks.
    """
    arrays = read_npz(path) if shard_format(path) == "npz" else _parquet_arrays(Path(path))
    return _checked_shard(arrays, path)


def read_shard(path: str | os.PathLike) -> dict[str, HACTokens]:
    """Item id -> its ``HACTokens`` (B = 1), from a shard file written by :func:`write_shard` (checked)."""
    return load_shard(path).items()


def _checked_shard(arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> Shard:
    """The shard in a file's arrays (the npz layout), after checking its version, ids and tokens."""
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


def _parquet_arrays(path: Path) -> dict[str, np.ndarray]:
    """A Parquet shard as the arrays of an npz shard (packed streams with ``offsets``), for one checker."""
    pa, pq = _pyarrow()
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(
            f"cannot read the Parquet shard {path}: {err}. Delete it to have it tokenized again."
        ) from err
    metadata = _parquet_metadata(table, path)
    missing = [name for name in PARQUET_COLUMNS if name not in table.column_names]
    if missing:
        raise DatasetError(f"{path} lacks the columns {missing}; it is not a tokenize-dataset shard.")
    failed = metadata["failed"]
    arrays = {
        "shard_version": np.asarray(metadata["shard_version"]),
        "ids": np.array(table["id"].to_pylist(), dtype=np.str_),
        "failed_ids": np.array([pair[0] for pair in failed], dtype=np.str_),
        "failed_errors": np.array([pair[1] for pair in failed], dtype=np.str_),
    }
    if table.num_rows == 0:
        return arrays
    return arrays | _parquet_tokens(table, metadata["vocab_sizes"], path)


def _parquet_metadata(table: pa.Table, path: Path) -> dict:
    raw = (table.schema.metadata or {}).get(_METADATA_KEY)
    try:
        metadata = json.loads(raw) if raw is not None else None
        failed = metadata["failed"]
        vocab = metadata["vocab_sizes"]
        if not (all(len(pair) == 2 for pair in failed) and all(isinstance(v, int) for v in vocab.values())):
            raise TypeError("failed must hold [id, error] pairs and vocab_sizes integers")
    except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as err:
        raise DatasetError(
            f"{path}: the {_METADATA_KEY.decode()} metadata (shard_version, vocab_sizes, failed) is missing or "
            f"malformed ({err!r}); it is not a tokenize-dataset shard, or it is corrupt."
        ) from err
    return metadata


def _parquet_tokens(table: pa.Table, vocab_sizes: dict[str, int], source: object) -> dict[str, np.ndarray]:
    """The token-file arrays (packed layout) of a non-empty table of :data:`PARQUET_COLUMNS` rows."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.int64(2),  # the packed layout of HACTokens.to_arrays
        "lengths": _column(table, "length", source),
        "sample_lengths": _column(table, "sample_length", source),
        "vocab_names": np.array(list(vocab_sizes), dtype=np.str_),
        "vocab_values": np.array(list(vocab_sizes.values()), dtype=np.int64),
    }
    for name in ("model", "sample_rate", "frame_rate"):
        values = table[name].unique().to_pylist()
        if len(values) != 1 or values[0] is None:
            raise DatasetError(f"{source}: {name} is {values} across rows, not one value; the shard is corrupt.")
        arrays[name] = np.asarray(values[0])
    expected = arrays["sample_lengths"] / float(arrays["sample_rate"])
    if not np.allclose(_column(table, "duration", source), expected, rtol=1e-9, atol=0):
        raise DatasetError(f"{source}: duration differs from sample_length / sample_rate; the shard is corrupt.")
    expected = np.concatenate([[0], np.cumsum(arrays["lengths"])])
    for name in STREAMS:
        column = table[name].combine_chunks()
        if column.null_count == len(column):
            continue  # a stream that was not encoded
        if column.null_count:
            raise DatasetError(f"{source}: {name} is null on some rows only; the shard is corrupt.")
        flat = column.flatten()
        if name == "acoustic":
            arrays[name], frames = _packed_layers(column, source)
        else:
            arrays[name], frames = flat.to_numpy(), _list_lengths(column)
        if not np.array_equal(frames, arrays["lengths"]):
            raise DatasetError(
                f"{source}: {name} holds {frames[:8].tolist()} frames per row, length says "
                f"{arrays['lengths'][:8].tolist()}; the shard is corrupt."
            )
    arrays["offsets"] = expected
    return arrays


def _list_lengths(column: pa.ListArray) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.list_value_length(column).to_numpy().astype(np.int64)


def _packed_layers(column: pa.ListArray, source: object) -> tuple[np.ndarray, np.ndarray]:
    """``list<list<int32>>`` (item b: N lists of T_b) -> packed ``[N, L]`` and the items' frames ``[B]``."""
    layers = _list_lengths(column)
    inner = column.flatten()
    frames = _list_lengths(inner)
    if len(set(layers.tolist())) != 1 or layers[0] == 0:
        raise DatasetError(f"{source}: acoustic rows hold {sorted(set(layers.tolist()))} RVQ layers, not one N >= 1.")
    n = int(layers[0])
    per_layer = frames.reshape(-1, n)  # [B, N]: frames of each layer of each item
    if (per_layer != per_layer[:, :1]).any():
        raise DatasetError(f"{source}: acoustic layers of one item differ in length; the shard is corrupt.")
    values = inner.flatten().to_numpy()
    bounds = np.concatenate([[0], np.cumsum(per_layer[:, 0] * n)])
    items = [values[start:stop].reshape(n, -1) for start, stop in itertools.pairwise(bounds)]
    return np.concatenate(items, axis=1), per_layer[:, 0]


def _column(table: pa.Table, name: str, source: object) -> np.ndarray:
    column = table[name]
    if column.null_count:
        raise DatasetError(f"{source}: {name} has nulls; the shard is corrupt.")
    return column.to_numpy()


def tokens_from_rows(rows: Mapping[str, Sequence], vocab_sizes: Mapping[str, int] | None = None) -> HACTokens:
    """The inverse of :func:`token_table`: columns of one row per item -> one checked ``HACTokens`` batch.

    ``rows`` is e.g. a batch of a ``datasets`` dataset made by ``Dataset.map`` with ``token_table(t).to_pydict()``,
    or of one read from Parquet shards; a stream column it lacks is a stream not encoded, ``id`` is ignored.
    ``vocab_sizes`` (not kept in the rows) lets ``decode`` check the ids; without it the tokens carry none.
    Raises :class:`DatasetError` for rows that do not fit together, :class:`~hac_tokenizer.errors.TokenError` for
    token arrays that fail the token file's checks.
    """
    pa, _ = _pyarrow()
    fields = [f for f in _parquet_schema() if f.name != "id"]
    missing = [f.name for f in fields if f.name not in rows and f.name not in STREAMS]
    if missing:
        raise DatasetError(f"rows lack the columns {missing}; pass the columns token_table wrote.")
    batch = len(rows["length"])
    table = pa.table(
        {f.name: rows[f.name] if f.name in rows else pa.nulls(batch, type=f.type) for f in fields},
        schema=pa.schema(fields),
    )
    if batch == 0:
        raise DatasetError("rows hold no item; pass at least one row.")
    return HACTokens.from_arrays(_parquet_tokens(table, dict(vocab_sizes or {}), "rows"), "rows")
