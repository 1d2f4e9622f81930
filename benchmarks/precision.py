"""fp16/bf16 against fp32: token agreement per stream, reconstruction difference, throughput, per machine.

    python benchmarks/precision.py --device cuda --dtype fp16 bf16 --minutes 3 --model hac-14-l16
    python benchmarks/precision.py --device cpu --dtype fp16 bf16 --minutes 1   # CPU: a proxy for the numerics, slow
    python benchmarks/precision.py --device cpu --audio examples/audio/*.wav     # real speech, one item per file

Reduced-precision agreement depends on the hardware's kernels (bf16 on the bundled model: ~97 % of lexical
frames on an AMD EPYC, 27 % on an Intel Xeon with AMX), so the first lines name the machine: the CPU model
from /proc/cpuinfo with its bf16/fp16 instruction flags, torch's CPU kernel level, and the GPU if one is used.
Quote figures together with that line.

Audio is the speech-like test signal cut into ``--clip`` second items, or the ``--audio`` files (one item
each, resampled to 16 kHz); every precision encodes it whole (no windows). Nearest-code search and the code
embeddings stay in fp32 whatever the dtype (``HACTokenizer.to``), so tokens differ only where reduced
precision moves the latent across a near-tie. ``HACTokenizer.encode`` refuses bf16 (``PrecisionError``):
the bf16 row's tokens come from ``HACModel.encode`` called directly, one item at a time, which is what encode
would return were bf16 allowed; it is measured to show what the refusal guards against, and its encode
throughput is not reported. "recon SNR" compares the audio each precision decodes from its own tokens with
the fp32 audio; "decoder SNR" decodes the fp32 tokens, isolating the decoder (the use bf16 is allowed for).
On a randomly initialised model agreement is a numerical-stability check, not a trained-token figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from functools import partial
from pathlib import Path

import torch
from long_audio import load, speech_like
from machine import machine_description, timed
from torch.nn.utils import parametrize

from hac_tokenizer import PAD_ID, HACTokenizer, HACTokens
from hac_tokenizer.audio import to_mono_items

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def snr_db(reference: torch.Tensor, other: torch.Tensor) -> float:
    noise = (other - reference).pow(2).mean().item()
    return 10 * math.log10(reference.pow(2).mean().item() / max(noise, 1e-20))


def encode_unguarded(tok: HACTokenizer, items: list[torch.Tensor], like: HACTokens) -> HACTokens:
    """The tokens ``tok.encode(items, window_seconds=None)`` would give were its dtype allowed (bf16).

    ``HACModel.encode`` on one item at a time, zero-padded to whole frames as ``encode`` pads it, placed in
    the layout of ``like`` (the fp32 tokens of the same items). For measuring only: the library refuses this.
    """
    codes = {name: torch.full_like(t, PAD_ID) for name, t in like.streams().items()}
    hop = tok.hop_length
    with torch.inference_mode(), parametrize.cached():
        for i, wav in enumerate(items):
            frames = -(-len(wav) // hop)
            padded = torch.zeros(1, 1, frames * hop)
            padded[0, 0, : len(wav)] = wav
            out = tok.model.encode(padded.to(tok.device, tok.dtype), None, tuple(codes))
            for name, c in out.items():
                codes[name][i, ..., :frames] = c[0].to(codes[name].device)
    return dataclasses.replace(like, **codes)


def agreement(tokens: HACTokens, reference: HACTokens) -> dict[str, torch.Tensor]:
    """Per stream, the share of valid frames whose token equals the reference's (acoustic: per RVQ layer ``[N]``)."""
    mask = reference.mask.cpu()  # [B, T]
    shares = {}
    for name, ref in reference.streams().items():
        same = tokens.streams()[name].cpu() == ref.cpu()
        if same.dim() == 3:  # [B, N, T] -> per layer
            shares[name] = (same & mask[:, None]).sum(dim=(0, 2)) / mask.sum()
        else:
            shares[name] = (same & mask).sum() / mask.sum()
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="bundled", help="'bundled' or a preset name (random init)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", nargs="+", default=["fp16", "bf16"], choices=["fp16", "bf16"])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the speech-like signal")
    parser.add_argument("--clip", type=float, default=10.0, help="seconds per item of the speech-like signal")
    parser.add_argument("--audio", nargs="+", default=None, help="audio files to use instead (one item each)")
    args = parser.parse_args()

    if args.audio:
        items = to_mono_items([str(p) for p in args.audio], None, 16000)
        source = f"{len(items)} file(s): " + ", ".join(Path(p).name for p in args.audio)
    else:
        clip = int(args.clip * 16000)
        signal = torch.from_numpy(speech_like(args.minutes * 60))
        items = list(signal[: len(signal) // clip * clip].reshape(-1, clip))  # B x [S]
        source = f"speech-like signal, {len(items)} x {args.clip:g} s items"
    seconds = sum(len(x) for x in items) / 16000
    print(machine_description(args.device), flush=True)

    results = {}
    for name in ["fp32", *args.dtype]:
        tok = load(args.model).to(args.device, DTYPES[name])  # a fresh model per dtype: .to() casts in place
        if name == "bf16":  # refused by tok.encode: measured through the model (see the module docstring)
            enc_time, tokens = None, encode_unguarded(tok, items, results["fp32"]["tokens"])
        else:
            tok.encode(items[0][:16000], window_seconds=None)  # warm-up
            enc_time, tokens = timed(partial(tok.encode, items, 16000, window_seconds=None), args.device)
        dec_time, audio = timed(partial(tok.decode, tokens), args.device)
        recon = audio.waveform.cpu()
        reference_tokens = results["fp32"]["tokens"] if name != "fp32" else tokens
        decoder_only = tok.decode(reference_tokens.to(args.device)).waveform.cpu()
        results[name] = {"tokens": tokens.to("cpu"), "recon": recon, "decoder_only": decoder_only,
                         "enc_xrt": None if enc_time is None else seconds / enc_time, "dec_xrt": seconds / dec_time}
        print(f"# {name} done", flush=True)

    reference = results["fp32"]
    streams = list(reference["tokens"].streams())
    print(f"\nmodel {tok.name}, {args.device}, {seconds / 60:.3g} min of audio ({source})\n")
    print("| dtype | " + " | ".join(f"{s} agree" for s in streams)
          + " | recon SNR dB | decoder SNR dB | enc x-RT | dec x-RT |")
    print("|---|" + "---|" * (len(streams) + 4))
    shares = {name: agreement(r["tokens"], reference["tokens"]) for name, r in results.items()}
    for name, r in results.items():
        agree = [shares[name][s].mean().item() for s in streams]
        recon = "—" if name == "fp32" else f"{snr_db(reference['recon'], r['recon']):.1f}"
        decoder = "—" if name == "fp32" else f"{snr_db(reference['recon'], r['decoder_only']):.1f}"
        enc = "refused" if r["enc_xrt"] is None else f"{r['enc_xrt']:.1f}"
        label = "bf16 (via the model)" if name == "bf16" else name
        print(f"| {label} | " + " | ".join(f"{100 * a:.2f}%" for a in agree)
              + f" | {recon} | {decoder} | {enc} | {r['dec_xrt']:.1f} |")
    for name in results:
        if name != "fp32" and "acoustic" in shares[name]:
            # Later RVQ layers quantize ever smaller residuals, so they are the first to flip.
            per_layer = shares[name]["acoustic"].tolist()
            print(f"\n{name} acoustic agreement per RVQ layer: " + ", ".join(f"{100 * a:.1f}%" for a in per_layer))


if __name__ == "__main__":
    main()
