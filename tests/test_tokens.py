import dataclasses

import numpy as np
import pytest
import torch
from signals import chirp

from hac_tokenizer import PAD_ID, HACTokens
from hac_tokenizer.errors import TokenError


@pytest.fixture(scope="module")
def batch(tiny_tokenizer):
    return tiny_tokenizer.encode([chirp(n) for n in (3200, 960, 6400)])


def test_mask_matches_lengths(batch):
    assert batch.mask.sum(1).tolist() == batch.lengths.tolist() == [10, 3, 20]


def test_unbatch_then_collate_is_identity(batch):
    items = batch.unbatch()
    assert [i.num_frames for i in items] == [10, 3, 20]
    again = HACTokens.collate(items)
    for name, t in batch.streams().items():
        assert torch.equal(getattr(again, name), t)
    assert torch.equal(again.lengths, batch.lengths)


def test_indexing(batch):
    one = batch[1]
    assert one.batch_size == 1 and one.num_frames == 3
    assert torch.equal(one.acoustic[0], batch.acoustic[1, :, :3])
    assert batch[-1].num_frames == 20
    assert batch[0:2].num_frames == 10
    with pytest.raises(IndexError):
        batch[3]


def test_save_load_round_trip(batch, tmp_path):
    path = tmp_path / "t.npz"
    batch.save(path)
    loaded = HACTokens.load(path)
    for name, t in batch.streams().items():
        assert torch.equal(getattr(loaded, name), t)
    assert loaded.model == batch.model and loaded.vocab_sizes == batch.vocab_sizes
    assert loaded.sample_rate == 16000 and loaded.frame_rate == 50.0
    assert torch.equal(loaded.sample_lengths, batch.sample_lengths)


def test_subset_save_load(tiny_tokenizer, tmp_path):
    tokens = tiny_tokenizer.encode(chirp(3200), streams=("phonetic",))
    tokens.save(tmp_path / "p.npz")
    loaded = HACTokens.load(tmp_path / "p.npz")
    assert loaded.acoustic is None and loaded.lexical is None and torch.equal(loaded.phonetic, tokens.phonetic)


def test_numpy_and_to(batch):
    arrays = batch.numpy()
    assert set(arrays) == {"lexical", "phonetic", "acoustic", "lengths", "sample_lengths"}
    assert arrays["acoustic"].dtype == np.int64 and (arrays["acoustic"][1, :, 3:] == PAD_ID).all()
    assert batch.to("cpu").acoustic.device.type == "cpu"


def test_load_rejects_foreign_npz(tmp_path):
    np.savez(tmp_path / "x.npz", foo=np.zeros(3))
    with pytest.raises(TokenError, match="not written by HACTokens.save"):
        HACTokens.load(tmp_path / "x.npz")


def test_collate_refuses_mixed_models(batch):
    other = batch[0]
    other.model = "another"
    with pytest.raises(TokenError, match="another model"):
        HACTokens.collate([batch[1], other])


@pytest.mark.parametrize("packed", [False, True])
def test_both_layouts_load_back_the_same_batch(batch, tmp_path, packed):
    path = tmp_path / "t.npz"
    batch.save(path, packed=packed)
    loaded = HACTokens.load(path)
    for name, t in batch.streams().items():
        assert torch.equal(getattr(loaded, name), t), name  # PAD_ID past each length in either layout
    assert torch.equal(loaded.lengths, batch.lengths) and torch.equal(loaded.sample_lengths, batch.sample_lengths)
    assert (loaded.model, loaded.vocab_sizes, loaded.frame_rate) == (batch.model, batch.vocab_sizes, batch.frame_rate)


def test_packed_layout_holds_the_valid_frames_back_to_back(batch):
    arrays = batch.to_arrays(packed=True)
    assert arrays["format_version"] == 2 and arrays["offsets"].tolist() == [0, 10, 13, 33]
    assert arrays["lexical"].shape == (33,) and arrays["acoustic"].shape == (batch.acoustic.shape[1], 33)
    assert (arrays["lexical"] >= 0).all()  # no padding stored
    np.testing.assert_array_equal(arrays["acoustic"][:, 10:13], batch.acoustic[1, :, :3].numpy())
    assert batch.to_arrays()["format_version"] == 1  # padded files stay readable by older versions


def test_ids_are_stored_in_the_smallest_integer_type(batch):
    assert batch.to_arrays()["lexical"].dtype == np.int16  # PAD_ID = -1 included
    big = dataclasses.replace(batch, lexical=batch.lexical.clamp_min(0) + 40000)
    assert big.to_arrays(packed=True)["lexical"].dtype == np.int32
    assert HACTokens.from_arrays(big.to_arrays(packed=True), "x").lexical.dtype == torch.int64
