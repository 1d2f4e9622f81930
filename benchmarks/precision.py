"""fp16/bf16 against fp32: token agreement per stream, reconstruction difference, throughput.

    python benchmarks/precision.py --device cuda --dtype fp16 bf16 --minutes 3 --model hac-14-l16
    python benchmarks/precision.py --device cpu --dtype fp16 bf16 --minutes 1   # CPU: a proxy for the numerics, slow

Audio is cut into ``--clip`` second items encoded as one batch. Nearest-code search and the code
embeddings stay in fp32 whatever the dtype (``HACTokenizer.to``), so tokens differ only where reduced
precision moves the latent across a near-tie. "recon SNR" compares the audio each precision decodes
from its own tokens with the fp32 audio; "decoder SNR" decodes the fp32 tokens, isolating the decoder.
On a randomly initialised model agreement is a numerical-stability check, not a trained-token figure.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from long_audio import load, speech_like

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def timed(fn, device: str):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def snr_db(reference: torch.Tensor, other: torch.Tensor) -> float:
    noise = (other - reference).pow(2).mean().item()
    return 10 * math.log10(reference.pow(2).mean().item() / max(noise, 1e-20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled", help="'bundled' or a preset name (random init)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", nargs="+", default=["fp16", "bf16"], choices=["fp16", "bf16"])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--clip", type=float, default=10.0, help="seconds per batch item")
    args = parser.parse_args()

    clip = int(args.clip * 16000)
    signal = torch.from_numpy(speech_like(args.minutes * 60))
    audio = signal[: len(signal) // clip * clip].reshape(-1, clip)  # [B, S]
    seconds = audio.numel() / 16000
    results = {}
    for name in ["fp32", *args.dtype]:
        tok = load(args.model).to(args.device, DTYPES[name])
        tok.encode(audio[:1, :16000])  # warm-up
        enc_time, tokens = timed(lambda: tok.encode(audio), args.device)
        dec_time, recon = timed(lambda: tok.decode(tokens).waveform.cpu(), args.device)
        reference_tokens = results["fp32"]["tokens"] if name != "fp32" else tokens
        decoder_only = tok.decode(reference_tokens.to(args.device)).waveform.cpu()
        results[name] = {"tokens": tokens.to("cpu"), "recon": recon, "decoder_only": decoder_only,
                         "enc_xrt": seconds / enc_time, "dec_xrt": seconds / dec_time}
        print(f"# {name} done", flush=True)

    reference = results["fp32"]
    streams = list(reference["tokens"].streams())
    print(f"\nmodel {tok.name}, {args.device}, {seconds / 60:g} min in {audio.shape[0]} x {args.clip:g} s items\n")
    print("| dtype | " + " | ".join(f"{s} agree" for s in streams)
          + " | recon SNR dB | decoder SNR dB | enc x-RT | dec x-RT |")
    print("|---|" + "---|" * (len(streams) + 4))
    for name, r in results.items():
        agree = [(r["tokens"].streams()[s] == reference["tokens"].streams()[s]).float().mean().item() for s in streams]
        recon = "—" if name == "fp32" else f"{snr_db(reference['recon'], r['recon']):.1f}"
        decoder = "—" if name == "fp32" else f"{snr_db(reference['recon'], r['decoder_only']):.1f}"
        print(f"| {name} | " + " | ".join(f"{100 * a:.2f}%" for a in agree)
              + f" | {recon} | {decoder} | {r['enc_xrt']:.1f} | {r['dec_xrt']:.1f} |")
    for name, r in results.items():
        if name != "fp32" and r["tokens"].acoustic is not None:
            # Later RVQ layers quantize ever smaller residuals, so they are the first to flip.
            same = (r["tokens"].acoustic == reference["tokens"].acoustic).float().mean(dim=(0, 2))
            print(f"\n{name} acoustic agreement per RVQ layer: " + ", ".join(f"{100 * a:.1f}%" for a in same.tolist()))


if __name__ == "__main__":
    main()
