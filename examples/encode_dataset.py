"""Encode a folder of audio into an LM-ready dataset: one id file, an index and the numbers an LM config needs.

    python examples/encode_dataset.py                       # examples/audio -> out/lm_dataset
    python examples/encode_dataset.py my_wavs/ -o data/lm --layout delayed --batch-size 16

Writes to the output directory:

* ``ids.npy``: every utterance's ids, concatenated along the last axis (``[L]`` for the interleaved
  layout, ``[K, L]`` for the delayed one), uint16 when the vocabulary fits, else int32. Each utterance
  starts with ``bos`` and ends with ``eos``, so a training script can cut windows anywhere.
* ``index.jsonl``: per utterance its file, ``start`` and ``length`` in ``ids.npy``, frames and samples.
* ``meta.json``: layout, delays, vocab size, frame rate, tokens per second, special ids, codebook offsets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hac_tokenizer import HACTokenizer
from hac_tokenizer.audio import list_audio_files
from hac_tokenizer.lm import DelayedLayout, InterleavedLayout, LMLayout

HERE = Path(__file__).parent


def make_layout(kind: str, tok: HACTokenizer) -> LMLayout:
    return {"interleaved": InterleavedLayout, "delayed": DelayedLayout}[kind].from_config(tok.config)


def by_duration(files: list[Path]) -> list[Path]:
    """Similar lengths in one batch waste less compute on padding."""
    import soundfile as sf

    return sorted(files, key=lambda f: sf.info(str(f)).duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", nargs="?", default=HERE / "audio", type=Path, help="folder (or file) of audio")
    parser.add_argument("-o", "--out", default=Path("out/lm_dataset"), type=Path)
    parser.add_argument("--layout", default="interleaved", choices=("interleaved", "delayed"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    tok = HACTokenizer.from_pretrained(args.model)
    layout = make_layout(args.layout, tok)
    files = by_duration(list_audio_files(args.audio))
    chunks, index, position, first_tokens = [], [], 0, None
    for start in range(0, len(files), args.batch_size):
        batch = files[start : start + args.batch_size]
        tokens = tok.encode([str(f) for f in batch])  # one padded forward pass per batch
        for path, item in zip(batch, tokens.unbatch()):
            ids = layout.encode(item)[0]  # [L] or [K, L]: bos ... eos, no padding for a single item
            first_tokens = item if first_tokens is None else first_tokens
            chunks.append(ids)
            index.append({"file": str(path), "start": position, "length": ids.shape[-1],
                          "frames": int(item.lengths[0]), "samples": int(item.sample_lengths[0])})
            position += ids.shape[-1]

    dtype = np.uint16 if layout.vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
    ids = torch.cat(chunks, dim=-1).numpy().astype(dtype)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "ids.npy", ids)
    (args.out / "index.jsonl").write_text("".join(json.dumps(row) + "\n" for row in index))
    meta = {"layout": args.layout, "delays": getattr(layout, "delays", None), "dtype": np.dtype(dtype).name,
            "tokens_per_second": layout.tokens_per_second, **layout.vocab.summary()}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    # The layout is exactly invertible: read the first utterance back from the file and compare.
    first = index[0]
    stored = torch.from_numpy(ids[..., first["start"] : first["start"] + first["length"]].astype(np.int64))
    back = layout.decode(stored, sample_lengths=torch.tensor([first["samples"]]))
    for name, codes in first_tokens.streams().items():
        assert torch.equal(getattr(back, name), codes), name
    print(f"{len(index)} files -> {args.out}/ids.npy {tuple(ids.shape)} {meta['dtype']}; "
          f"vocab {layout.vocab_size}, {layout.tokens_per_second:g} tokens/s ({layout})")


if __name__ == "__main__":
    main()
