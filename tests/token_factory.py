"""Random ragged HACTokens shaped exactly like encode's output, and a field-by-field equality check."""

from __future__ import annotations

import torch

from hac_tokenizer import PAD_ID, HACConfig, HACTokens
from hac_tokenizer.config import tiny_config

CONFIG = tiny_config()  # lexical 32, phonetic 32, 2 x 16 acoustic


def random_tokens(lengths: list[int], config: HACConfig = CONFIG, seed: int = 0, extra_frames: int = 0) -> HACTokens:
    """Ragged tokens as encode makes them: random codes on valid frames, PAD_ID after."""
    g = torch.Generator().manual_seed(seed)
    batch, frames = len(lengths), max(lengths) + extra_frames
    lengths_t = torch.tensor(lengths)
    valid = torch.arange(frames)[None, :] < lengths_t[:, None]
    sizes = config.vocab_sizes()
    streams = {
        name: torch.randint(sizes[name], (batch, frames), generator=g).masked_fill(~valid, PAD_ID)
        for name in ("lexical", "phonetic")
    }
    acoustic = torch.randint(sizes["acoustic"], (batch, config.acoustic_layers, frames), generator=g)
    hop = config.hop_length
    return HACTokens(
        **streams,
        acoustic=acoustic.masked_fill(~valid[:, None], PAD_ID),
        lengths=lengths_t,
        sample_lengths=lengths_t * hop - torch.randint(hop, (batch,), generator=g),  # not a multiple of hop
        sample_rate=config.sample_rate,
        frame_rate=config.frame_rate,
        model=config.name,
        vocab_sizes=config.vocab_sizes(),
    )


def assert_same(a: HACTokens, b: HACTokens) -> None:
    for name in ("lexical", "phonetic", "acoustic", "lengths", "sample_lengths"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or torch.equal(x, y), name
    assert (a.model, a.vocab_sizes, a.sample_rate, a.frame_rate) == (b.model, b.vocab_sizes, b.sample_rate, b.frame_rate)
