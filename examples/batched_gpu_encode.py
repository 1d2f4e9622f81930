"""Batched encoding on a GPU in fp16, with a CPU fallback: many files -> one token .npz per file.

    python examples/batched_gpu_encode.py                                 # bundled sample files
    python examples/batched_gpu_encode.py corpus/ -o out/tokens --batch-size 32 --device cuda

On CUDA the model runs in float16 (nearest-code search stays in fp32 inside the tokenizer); on CPU it
stays float32, where fp16 convolutions are slow. Files are sorted by duration so a batch holds similar
lengths (little compute spent on padding); batched results equal per-item ones, padding is masked.
On a GPU the first batch is also encoded in fp32 and the share of identical tokens is printed: fp16 may
flip a token only where two codes are nearly equidistant.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import soundfile as sf
import torch

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import list_audio_files

HERE = Path(__file__).parent


def pick_device(name: str) -> tuple[str, torch.dtype]:
    device = ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name
    return device, torch.float16 if device.startswith("cuda") else torch.float32


def batches(files: list[Path], batch_size: int) -> list[list[Path]]:
    ordered = sorted(files, key=lambda f: sf.info(str(f)).duration)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def agreement(a: HACTokens, b: HACTokens) -> float:
    """Share of valid-frame tokens equal in ``a`` and ``b`` over all streams."""
    mask = a.mask
    same = total = 0
    for name, codes in a.streams().items():
        other = getattr(b, name)
        valid = mask[:, None].expand_as(codes) if codes.dim() == 3 else mask
        same += int((codes == other)[valid].sum())
        total += int(valid.sum())
    return same / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", type=Path, default=[HERE / "audio"], help="audio files or folders")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/tokens"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto", help="auto (cuda if present, else cpu), cpu, cuda, cuda:1")
    parser.add_argument("--model", default=None, help="registry name or checkpoint dir (default: bundled)")
    args = parser.parse_args()

    device, dtype = pick_device(args.device)
    tok = HACTokenizer.from_pretrained(args.model, device=device, dtype=dtype)
    files = [f for root in args.inputs for f in list_audio_files(root)]
    audio_seconds = encode_seconds = 0.0
    for number, batch in enumerate(batches(files, args.batch_size)):
        started = time.perf_counter()
        tokens = tok.encode([str(f) for f in batch]).to("cpu")  # .to("cpu") waits for the GPU to finish
        encode_seconds += time.perf_counter() - started
        audio_seconds += float(tokens.sample_lengths.sum()) / tok.sample_rate
        if number == 0 and dtype != torch.float32:
            reference = HACTokenizer.from_pretrained(args.model, device=device).encode([str(f) for f in batch])
            print(f"fp16 vs fp32 tokens on the first batch: {100 * agreement(tokens, reference.to('cpu')):.2f}% identical")
        for path, item in zip(batch, tokens.unbatch()):
            item.save(args.out / f"{path.stem}.npz")
    print(f"{len(files)} files, {audio_seconds:.1f} s of audio on {device} ({dtype}) encoded in {encode_seconds:.2f} s: "
          f"{audio_seconds / encode_seconds:.1f}x real time -> {args.out}/")


if __name__ == "__main__":
    main()
