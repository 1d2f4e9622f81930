"""Decode LM-generated ids back to speech.

    python examples/decode_generated.py --ids generated.npy --layout interleaved -o out/generated.wav
    python examples/decode_generated.py                     # no LM at hand: a bigram stand-in generates ids

Your LM emits ids in the layout it was trained on (see ``examples/encode_dataset.py``): ``[L]`` for
``interleaved`` (bos, K ids per frame, eos) or ``[K, L]`` for ``delayed``. ``layout.decode`` turns them
back into ``HACTokens`` (strictly: an id of the wrong codebook is an error naming its position, so a
sampler bug cannot pass silently) and ``tok.decode`` into audio.

Without ``--ids`` the script fits a per-codebook bigram model on the tokens of ``--prompt`` audio and
samples ``--frames`` frames from it, writing ids exactly as an autoregressive LM would. It is a stand-in
to show the plumbing, not a speech model: expect babble even from a trained tokenizer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.errors import HACError
from hac_tokenizer.lm import DelayedLayout, InterleavedLayout, LMLayout, LMVocabulary

HERE = Path(__file__).parent


def make_layout(kind: str, tok: HACTokenizer) -> LMLayout:
    return {"interleaved": InterleavedLayout, "delayed": DelayedLayout}[kind].from_config(tok.config)


def bigram_tables(ids: Tensor, vocab: LMVocabulary) -> list[Tensor]:
    """Per codebook k, ``[V_k, V_k]`` next-code probabilities from the ``[K, T]`` global ids of a prompt (add-one smoothed)."""
    tables = []
    for k, book in enumerate(vocab.codebooks):
        codes = ids[k] - book.offset
        counts = torch.ones(book.size, book.size)
        counts.index_put_((codes[:-1], codes[1:]), torch.ones(len(codes) - 1), accumulate=True)
        tables.append(counts / counts.sum(-1, keepdim=True))
    return tables


def sample_interleaved(tables: list[Tensor], vocab: LMVocabulary, first: Tensor, frames: int, seed: int) -> Tensor:
    """``[2 + K frames]`` ids: bos, then frame after frame each codebook's id in order, then eos."""
    g = torch.Generator().manual_seed(seed)
    previous = (first - vocab.offsets).tolist()  # local codes of the frame we continue from
    ids = [vocab.bos_id]
    for _ in range(frames):
        for k, book in enumerate(vocab.codebooks):
            previous[k] = int(torch.multinomial(tables[k][previous[k]], 1, generator=g))
            ids.append(book.offset + previous[k])
    return torch.tensor([*ids, vocab.eos_id])


def generate(tok: HACTokenizer, prompt: Path, frames: int, seed: int) -> Tensor:
    layout = InterleavedLayout.from_config(tok.config)
    prompt_ids = layout.vocab.stack(tok.encode(str(prompt)))[0]  # [K, T] global ids
    return sample_interleaved(bigram_tables(prompt_ids, layout.vocab), layout.vocab, prompt_ids[:, -1], frames, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ids", type=Path, default=None, help=".npy of LM ids ([L] interleaved or [K, L] delayed)")
    parser.add_argument("--layout", default="interleaved", choices=("interleaved", "delayed"))
    parser.add_argument("--prompt", type=Path, default=HERE / "audio" / "speech_en.wav", help="audio the stand-in learns from")
    parser.add_argument("--frames", type=int, default=100, help="frames the stand-in generates (50 per second)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, default=Path("out/generated.wav"))
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    tok = HACTokenizer.from_pretrained(args.model)
    if args.ids is None:
        ids, layout = generate(tok, args.prompt, args.frames, args.seed), make_layout("interleaved", tok)
    else:
        ids, layout = torch.from_numpy(np.load(args.ids).astype(np.int64)), make_layout(args.layout, tok)
    tokens: HACTokens = layout.decode(ids)  # sample_lengths: whole frames (ids carry no sample count)
    audio = tok.decode(tokens)
    audio.save(args.out)
    seconds = int(audio.lengths[0]) / audio.sample_rate
    print(f"{tuple(ids.shape)} ids ({layout}) -> {int(tokens.lengths[0])} frames -> {args.out} ({seconds:.2f} s)")


if __name__ == "__main__":
    try:
        main()
    except HACError as err:  # a bad input (missing or corrupt file, wrong ids): say which and why, no traceback
        raise SystemExit(f"error: {err}") from None
