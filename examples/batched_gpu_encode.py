"""Batched encoding on a GPU in fp16, with a CPU fallback: many files -> one token .npz per file.

    python examples/batched_gpu_encode.py                                 # bundled sample files
    python examples/batched_gpu_encode.py corpus/ -o out/tokens --batch-size 32 --device cuda

On CUDA the model runs in float16 (nearest-code search stays in fp32 inside the tokenizer); on CPU it
stays float32, where fp16 convolutions are slow. Files are sorted by duration so a batch holds similar
lengths (little compute spent on padding); batched results equal per-item ones, padding is masked.
On a GPU the first batch is also encoded in fp32 and the share of identical tokens is printed: fp16 may
flip a token only where two codes are nearly equidistant. A file that cannot be encoded (corrupt, empty,
NaN samples) is skipped and reported with why, and the exit status is 1; the other files are encoded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import AudioFile, list_audio_files
from hac_tokenizer.errors import HACError

HERE = Path(__file__).parent


def pick_device(name: str) -> tuple[str, torch.dtype]:
    device = ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name
    return device, torch.float16 if device.startswith("cuda") else torch.float32


def batches(files: list[Path], batch_size: int, skipped: dict[Path, str]) -> list[list[Path]]:
    """Readable files sorted by duration, so a batch holds similar lengths; unreadable ones go to ``skipped``."""
    durations = {}
    for path in files:
        try:
            durations[path] = AudioFile(path).duration
        except HACError as err:
            skipped[path] = str(err)
    ordered = sorted(durations, key=durations.get)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]


def encode_batch(tok: HACTokenizer, batch: list[Path], skipped: dict[Path, str]) -> list[tuple[Path, HACTokens]]:
    """Tokens of each file (on CPU); if the batch fails (a file with NaN samples, say), file by file, skipping bad ones."""
    try:
        return list(zip(batch, tok.encode([str(f) for f in batch]).to("cpu").unbatch()))  # .to waits for the GPU
    except HACError:
        done = []
        for path in batch:
            try:
                done.append((path, tok.encode(str(path)).to("cpu")))
            except HACError as err:
                skipped[path] = str(err)
        return done


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


def main() -> int:
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
    skipped: dict[Path, str] = {}
    audio_seconds = encode_seconds = 0.0
    compared = dtype == torch.float32
    for batch in batches(files, args.batch_size, skipped):
        started = time.perf_counter()
        done = encode_batch(tok, batch, skipped)
        encode_seconds += time.perf_counter() - started
        if not done:
            continue
        tokens = HACTokens.collate([item for _, item in done])
        audio_seconds += float(tokens.sample_lengths.sum()) / tok.sample_rate
        if not compared:
            reference = HACTokenizer.from_pretrained(args.model, device=device).encode([str(f) for f, _ in done])
            print(f"fp16 vs fp32 tokens on the first batch: {100 * agreement(tokens, reference.to('cpu')):.2f}% identical")
            compared = True
        for path, item in done:
            item.save(args.out / f"{path.stem}.npz")
    encoded = len(files) - len(skipped)
    speed = f"{audio_seconds / encode_seconds:.1f}x real time" if encode_seconds else "nothing encoded"
    print(f"{encoded} files, {audio_seconds:.1f} s of audio on {device} ({dtype}) encoded in {encode_seconds:.2f} s: "
          f"{speed} -> {args.out}/")
    for path, error in skipped.items():
        print(f"skipped {path}: {error}", file=sys.stderr)
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
