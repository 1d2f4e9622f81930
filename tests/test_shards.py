"""Shard files: npz and Parquet hold one schema, read back by one reader; Parquet as pyarrow and datasets see it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from token_factory import CONFIG, assert_same, random_tokens

from hac_tokenizer.errors import DatasetError
from hac_tokenizer.shards import (
    PARQUET_COLUMNS,
    load_shard,
    read_shard,
    token_table,
    tokens_from_rows,
    write_shard,
)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

LENGTHS = [5, 11, 2]
FAILED = {"d": "audio contains NaN", "e": "cannot read audio file e.wav"}


def items() -> list:
    return random_tokens(LENGTHS, seed=3).unbatch()


@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_both_formats_give_back_what_was_written(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"s.{fmt}"
    write_shard(path, ["a", "b", "c"], items(), FAILED)
    shard = load_shard(path)
    assert shard.ids == ["a", "b", "c"] and shard.failed == FAILED
    assert_same(shard.tokens, random_tokens(LENGTHS, seed=3))
    assert shard.tokens.vocab_sizes == CONFIG.vocab_sizes() and shard.tokens.model == CONFIG.name
    for (item_id, got), expected in zip(read_shard(path).items(), items()):
        assert got.sample_lengths.tolist() == expected.sample_lengths.tolist(), item_id
        assert_same(got, expected)


def test_parquet_rows_are_the_items_as_pyarrow_reads_them(tmp_path: Path) -> None:
    write_shard(tmp_path / "s.parquet", ["a", "b", "c"], items(), FAILED)
    table = pq.read_table(tmp_path / "s.parquet")
    assert table.column_names == list(PARQUET_COLUMNS)
    rows = table.to_pylist()
    for row, item_id, item in zip(rows, ["a", "b", "c"], items()):
        n = int(item.lengths[0])
        assert row["id"] == item_id and row["length"] == n
        assert row["lexical"] == item.lexical[0, :n].tolist() and row["phonetic"] == item.phonetic[0, :n].tolist()
        assert row["acoustic"] == item.acoustic[0, :, :n].tolist()  # [N][T]
        assert row["sample_length"] == int(item.sample_lengths[0])
        assert row["duration"] == pytest.approx(int(item.sample_lengths[0]) / 16000)
        assert (row["model"], row["sample_rate"], row["frame_rate"]) == (CONFIG.name, 16000, CONFIG.frame_rate)
    metadata = json.loads(table.schema.metadata[b"hac_tokenizer"])
    assert metadata["failed"] == [list(pair) for pair in FAILED.items()]


def test_shards_of_one_run_load_as_one_dataset(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    content = random_tokens([4, 7], seed=5)
    write_shard(tmp_path / "shard-000000.parquet", ["a", "b", "c"], items(), {})
    write_shard(tmp_path / "shard-000001.parquet", [], [], {"x": "corrupt"})  # every item failed: no rows
    write_shard(tmp_path / "shard-000002.parquet", ["d", "e"], content.unbatch(), {})
    files = sorted(str(p) for p in tmp_path.glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    assert ds["id"] == ["a", "b", "c", "d", "e"]
    assert_same(tokens_from_rows(ds[3:], CONFIG.vocab_sizes()), content)
    assert load_shard(tmp_path / "shard-000001.parquet").failed == {"x": "corrupt"}


def test_a_stream_not_encoded_is_null_and_comes_back_absent(tmp_path: Path) -> None:
    content = dataclasses.replace(random_tokens([3, 6]), acoustic=None)
    write_shard(tmp_path / "s.parquet", ["a", "b"], content.unbatch(), {})
    assert pq.read_table(tmp_path / "s.parquet")["acoustic"].null_count == 2
    got = load_shard(tmp_path / "s.parquet").tokens
    assert got.acoustic is None and set(got.streams()) == {"lexical", "phonetic"}
    assert_same(got, content)


def test_token_rows_of_a_batch_are_those_of_its_items() -> None:
    batch = random_tokens(LENGTHS, seed=3)
    rows = token_table(batch).to_pydict()
    singles = [token_table(item).to_pydict() for item in batch.unbatch()]
    assert rows == {name: [v for single in singles for v in single[name]] for name in rows}
    assert_same(tokens_from_rows(rows, CONFIG.vocab_sizes()), batch)


def _edited(tmp_path: Path, edit) -> Path:
    write_shard(tmp_path / "ok.parquet", ["a", "b", "c"], items(), {})
    table = edit(pq.read_table(tmp_path / "ok.parquet"))
    pq.write_table(table, tmp_path / "bad.parquet")
    return tmp_path / "bad.parquet"


def _set(name: str, values: list):
    return lambda t: t.set_column(t.column_names.index(name), name, pa.array(values, type=t.schema.field(name).type))


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda t: t.replace_schema_metadata({}), "metadata (shard_version, vocab_sizes, failed) is missing"),
        (lambda t: t.drop_columns(["length"]), "lacks the columns ['length']"),
        (_set("length", [5, 10, 2]), "lexical holds [5, 11, 2] frames per row, length says [5, 10, 2]"),
        (_set("model", ["tiny", "other", "tiny"]), "model is"),
        (_set("duration", [1.0, 1.0, 1.0]), "duration differs"),
        (_set("acoustic", [[[1] * 5, [1] * 5], [[1] * 11, [1] * 10], [[1] * 2, [1] * 2]]), "layers of one item differ"),
        (_set("phonetic", [[1] * 5, None, [1] * 2]), "phonetic is null on some rows only"),
    ],
)
def test_a_broken_parquet_shard_is_refused_with_what_is_wrong(tmp_path: Path, edit, fragment) -> None:
    with pytest.raises(DatasetError) as info:
        load_shard(_edited(tmp_path, edit))
    assert fragment in str(info.value) and "bad.parquet" in str(info.value)


def test_unknown_suffix_and_unreadable_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"ends with \.npz or \.parquet"):
        write_shard(tmp_path / "s.arrow", ["a"], items()[:1], {})
    (tmp_path / "s.parquet").write_bytes(b"not parquet")
    with pytest.raises(DatasetError, match="cannot read the Parquet shard"):
        load_shard(tmp_path / "s.parquet")
    with pytest.raises(DatasetError, match="2 ids for 1 tokenized items"):
        write_shard(tmp_path / "t.parquet", ["a", "b"], items()[:1], {})
    assert not (tmp_path / "t.parquet").exists()


def test_the_readme_datasets_map_snippet_gives_each_items_tokens(tiny_tokenizer, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("datasets")
    from test_readme import REPO, snippets

    block = next(b for b in snippets() if "batched=True" in b)
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    namespace = {"tok": tiny_tokenizer}
    exec(compile(block, "README.md datasets block", "exec"), namespace)  # noqa: S102 - the README's own code
    mapped = namespace["mapped"]
    for got, name in zip(mapped.unbatch(), ("speech_en", "speech_fr")):
        expected = tiny_tokenizer.encode(f"examples/audio/{name}.wav")
        assert_same(got, expected)
    assert namespace["ds"].column_names == list(PARQUET_COLUMNS[1:])
