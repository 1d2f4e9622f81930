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
