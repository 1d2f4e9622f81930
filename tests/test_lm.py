"""LM id layouts: offsets, structure of each layout, exact inverse on ragged batches, strict decoding."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from token_factory import assert_same, random_tokens

from hac_tokenizer import PAD_ID, HACConfig
from hac_tokenizer.config import tiny_config
from hac_tokenizer.errors import TokenError
from hac_tokenizer.lm import DelayedLayout, InterleavedLayout, LMVocabulary

CONFIG = tiny_config()  # lexical 32, phonetic 32, 2 x 16 acoustic


LAYOUTS = {
    "interleaved": lambda v: InterleavedLayout(v),
    "delayed": lambda v: DelayedLayout(v),
    "delayed-moshi": lambda v: DelayedLayout(v, (0, 0, 1, 1)),
    "delayed-none": lambda v: DelayedLayout(v, (0, 0, 0, 0)),
}


# -- vocabulary ---------------------------------------------------------------------------------
def test_offsets_tile_the_id_space_after_the_specials():
    vocab = LMVocabulary.from_config(CONFIG)
    assert [c.name for c in vocab.codebooks] == ["lexical", "phonetic", "acoustic.0", "acoustic.1"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2)
    assert vocab.offsets.tolist() == [3, 35, 67, 83]
    assert vocab.vocab_size == 3 + 32 + 32 + 16 + 16
    summary = vocab.summary()
    assert summary["vocab_size"] == vocab.vocab_size and summary["frame_rate"] == 50.0
    assert summary["codebooks"][2] == {"name": "acoustic.0", "offset": 67, "size": 16}


def test_bundled_model_numbers_match_the_docstring():
    vocab = LMVocabulary.from_config(HACConfig.preset("hac-mls8-small"))
    assert vocab.offsets.tolist() == [3, 2051, 2563, 3587, 4611, 5635]
    assert vocab.vocab_size == 6659
    layout = InterleavedLayout(vocab)
    assert layout.tokens_per_second == 300 and layout.frame_rate == 50


def test_subsets_and_extra_specials():
    vocab = LMVocabulary.from_config(CONFIG, streams=("phonetic", "acoustic"), acoustic_layers=1, extra_specials=("<speech>",))
    assert [c.name for c in vocab.codebooks] == ["phonetic", "acoustic.0"]
    assert vocab.special_id("<speech>") == 3 and vocab.offsets.tolist() == [4, 36]
    assert vocab.vocab_size == 4 + 32 + 16
    with pytest.raises(TokenError, match="no special"):
        vocab.special_id("<text>")
    with pytest.raises(TokenError, match="acoustic_layers"):
        LMVocabulary.from_config(CONFIG, acoustic_layers=3)
    with pytest.raises(TokenError, match="subset"):
        LMVocabulary.from_config(CONFIG, streams=("semantic",))


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("lengths", [[1], [5, 1, 3], [7, 7], [2, 9, 4, 1]])
def test_round_trip_is_exact_on_ragged_batches(kind, lengths):
    tokens = random_tokens(lengths, seed=len(lengths))
    layout = LAYOUTS[kind](LMVocabulary.from_config(CONFIG))
    ids = layout.encode(tokens)
    assert ids.dtype == torch.long and int(ids.min()) >= 0 and int(ids.max()) < layout.vocab_size
    assert_same(layout.decode(ids, tokens.sample_lengths), tokens)
    without = layout.decode(ids)  # no sample counts in ids: whole frames
    assert torch.equal(without.sample_lengths, tokens.lengths * CONFIG.hop_length)
    assert torch.equal(without.acoustic, tokens.acoustic)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_round_trip_of_a_stream_subset(kind):
    tokens = random_tokens([4, 6, 2], seed=3)
    vocab = LMVocabulary.from_config(CONFIG, streams=("lexical", "acoustic"), acoustic_layers=1)
    layout = LAYOUTS[kind](vocab) if kind == "interleaved" else DelayedLayout(vocab)
    back = layout.decode(layout.encode(tokens), tokens.sample_lengths)
    assert back.phonetic is None
    assert torch.equal(back.lexical, tokens.lexical) and torch.equal(back.acoustic, tokens.acoustic[:, :1])


@pytest.mark.parametrize("kind", LAYOUTS)
def test_padding_beyond_the_longest_item_is_trimmed(kind):
    tokens = random_tokens([3, 5], extra_frames=4)
    layout = LAYOUTS[kind](LMVocabulary.from_config(CONFIG))
    assert_same(layout.decode(layout.encode(tokens), tokens.sample_lengths), tokens.trim())


def test_round_trip_on_real_encoder_output(tiny_tokenizer):
    from signals import chirp

    tokens = tiny_tokenizer.encode([chirp(700), chirp(2400, seed=1), chirp(1500, seed=2)])
    for layout in (InterleavedLayout.from_config(tiny_tokenizer.config), DelayedLayout.from_config(tiny_tokenizer.config)):
        assert_same(layout.decode(layout.encode(tokens), tokens.sample_lengths), tokens)


# -- structure ----------------------------------------------------------------------------------
def test_interleaved_is_frame_major_with_bos_eos_pad():
    tokens = random_tokens([3, 1])
    layout = InterleavedLayout(LMVocabulary.from_config(CONFIG))
    ids = layout.encode(tokens)
    assert ids.shape == (2, 2 + 4 * 3) and layout.sequence_length(3) == 14
    offsets = layout.vocab.offsets
    codes = torch.stack([tokens.lexical, tokens.phonetic, tokens.acoustic[:, 0], tokens.acoustic[:, 1]], 1)  # [B, K, T]
    for t in range(3):
        assert torch.equal(ids[0, 1 + 4 * t : 5 + 4 * t], codes[0, :, t] + offsets)
    assert ids[0, 0] == 1 and ids[0, -1] == 2
    assert ids[1, :6].tolist() == [1, *(codes[1, :, 0] + offsets).tolist(), 2]
    assert (ids[1, 6:] == 0).all()


def test_delayed_shifts_each_codebook_by_its_delay():
    tokens = random_tokens([3, 2])
    layout = DelayedLayout(LMVocabulary.from_config(CONFIG), (0, 2, 1, 1))
    ids = layout.encode(tokens)
    assert ids.shape == (2, 4, 3 + 2 + 2) and layout.tokens_per_second == 200
    assert (ids[:, :, 0] == 1).all()
    assert torch.equal(ids[0, 0, 1:4], tokens.lexical[0] + 3)
    assert torch.equal(ids[0, 1, 3:6], tokens.phonetic[0] + 35)
    assert torch.equal(ids[0, 3, 2:5], tokens.acoustic[0, 1] + 83)
    assert (ids[0, :, 6] == 2).all() and (ids[1, :, 5] == 2).all() and (ids[1, :, 6] == 0).all()
    assert ids[0, 1, 1:3].tolist() == [0, 0]  # before the phonetic row starts: pad


def test_unbatched_ids_are_accepted():
    tokens = random_tokens([4])
    for layout in (InterleavedLayout(LMVocabulary.from_config(CONFIG)), DelayedLayout(LMVocabulary.from_config(CONFIG))):
        assert_same(layout.decode(layout.encode(tokens)[0], tokens.sample_lengths), tokens)


# -- strictness ---------------------------------------------------------------------------------
def test_decode_rejects_a_code_of_the_wrong_codebook():
    tokens = random_tokens([3])
    layout = InterleavedLayout(LMVocabulary.from_config(CONFIG))
    ids = layout.encode(tokens)
    ids[0, 1] = 40  # a phonetic id where the lexical id of frame 0 belongs
    with pytest.raises(TokenError, match="not a lexical id"):
        layout.decode(ids)


def test_decode_rejects_missing_or_misplaced_eos_and_stray_ids():
    tokens = random_tokens([3, 2])
    layout = InterleavedLayout(LMVocabulary.from_config(CONFIG))
    ids = layout.encode(tokens)
    no_eos = ids.clone()
    no_eos[0, -1] = 0
    with pytest.raises(TokenError, match="no eos"):
        layout.decode(no_eos)
    mid_frame = ids[:1, :8].clone()
    mid_frame[0, 7] = 2
    with pytest.raises(TokenError, match="whole number"):
        layout.decode(mid_frame)
    stray = ids.clone()
    stray[1, -1] = 50  # a code after eos
    with pytest.raises(TokenError, match="should be 0"):
        layout.decode(stray)
    with pytest.raises(TokenError, match="no frame"):
        layout.decode(torch.tensor([1, 2]))
    with pytest.raises(TokenError, match="integer"):
        layout.decode(ids.float())


def test_delayed_decode_rejects_broken_structure():
    tokens = random_tokens([3])
    layout = DelayedLayout(LMVocabulary.from_config(CONFIG))
    ids = layout.encode(tokens)
    bad_bos = ids.clone()
    bad_bos[0, 2, 0] = 0
    with pytest.raises(TokenError, match="should be 1"):
        layout.decode(bad_bos)
    bad_fill = ids.clone()
    bad_fill[0, 3, 1] = 90  # before acoustic.1 starts
    with pytest.raises(TokenError, match="should be 0"):
        layout.decode(bad_fill)
    with pytest.raises(TokenError, match="rows"):
        layout.decode(ids[:, :3])
    with pytest.raises(TokenError, match="before the first complete frame"):
        layout.decode(torch.tensor([[1, 2, 0, 0, 0]] * 4))


def test_encode_rejects_padding_inside_lengths_and_foreign_tokens():
    layout = InterleavedLayout(LMVocabulary.from_config(CONFIG))
    tokens = random_tokens([3, 2])
    holed = dataclasses.replace(tokens, lexical=tokens.lexical.clone())
    holed.lexical[1, 1] = PAD_ID
    with pytest.raises(TokenError, match="item 1, frame 1: lexical code -1"):
        layout.encode(holed)
    with pytest.raises(TokenError, match="do not fit this layout"):
        layout.encode(dataclasses.replace(tokens, vocab_sizes={**tokens.vocab_sizes, "lexical": 64}))
    with pytest.raises(TokenError, match="lack"):
        layout.encode(dataclasses.replace(tokens, phonetic=None))
