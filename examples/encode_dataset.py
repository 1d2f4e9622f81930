"""Encode a folder of audio into an LM dataset: token shards, plus what an LM config needs to read them.

    python examples/encode_dataset.py                       # examples/audio -> out/lm_dataset
    python examples/encode_dataset.py my_wavs/ -o data/lm --layout delayed --batch-size 16

The tokens are written by ``hac_tokenizer.dataset.tokenize_dataset`` (what ``hac-tokenizer tokenize-dataset``
runs), in the library's one token file format, so nothing here invents a file format of its own:

* ``shards/shard-NNNNNN.npz``: token files (``HACTokens.load`` reads one as a batch) with the item ids;
  ``hac_tokenizer.dataset.read_shard`` gives item id -> ``HACTokens``. Each file is checked when read.
* ``index.json``: every shard's items, frames and the files that could not be encoded, with why;
  ``plan.json``: the run's items (a rerun resumes, skipping finished shards).
* ``meta.json``: layout, delays, vocab size, frame rate, tokens per second, special ids, codebook offsets.

An LM data loader lays each utterance out in the LM's id space as it reads it (``layout.encode``: ``bos``,
the ids, ``eos``); ``layout.decode`` inverts it exactly. A corrupt, empty or NaN-filled file is skipped and
reported (exit status 1); the others are encoded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.dataset import Settings, read_shard, tokenize_dataset
from hac_tokenizer.lm import DelayedLayout, InterleavedLayout, LMLayout

HERE = Path(__file__).parent


def make_layout(kind: str, tok: HACTokenizer) -> LMLayout:
    return {"interleaved": InterleavedLayout, "delayed": DelayedLayout}[kind].from_config(tok.config)


def read_dataset(out: Path) -> tuple[dict[str, HACTokens], dict[str, str]]:
    """Every item's tokens (B = 1) and every skipped file's error, from the shards of a finished run."""
    tokens, failed = {}, {}
    for shard in json.loads((out / "index.json").read_text())["shards"]:
        tokens |= read_shard(out / shard["file"])
        failed |= shard["failed"]
    return tokens, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="?", default=HERE / "audio", type=Path, help="folder of audio (or a JSONL manifest)")
    parser.add_argument("-o", "--out", default=Path("out/lm_dataset"), type=Path)
    parser.add_argument("--layout", default="interleaved", choices=("interleaved", "delayed"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="processes reading audio beside the encoder")
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    tok = HACTokenizer.from_pretrained(args.model)
    layout = make_layout(args.layout, tok)
    settings = Settings(batch_size=args.batch_size, num_workers=args.workers, progress=False)
    tokenize_dataset(tok, args.audio, args.out, settings)  # a bad file is recorded in its shard, not fatal
    meta = {"layout": args.layout, "delays": getattr(layout, "delays", None),
            "tokens_per_second": layout.tokens_per_second, **layout.vocab.summary()}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    tokens, failed = read_dataset(args.out)
    lm_tokens = 0
    for item_id, item in tokens.items():
        ids = layout.encode(item)[0]  # what an LM data loader does per utterance: [L] or [K, L], bos ... eos
        back = layout.decode(ids, sample_lengths=item.sample_lengths)  # the layout is exactly invertible
        assert all(torch.equal(getattr(back, name), codes) for name, codes in item.streams().items()), item_id
        lm_tokens += ids.shape[-1]
    print(f"{len(tokens)} files -> {args.out}/shards; {lm_tokens} LM ids, vocab {layout.vocab_size}, "
          f"{layout.tokens_per_second:g} tokens/s ({layout})")
    for item_id, error in failed.items():
        print(f"skipped {item_id}: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
