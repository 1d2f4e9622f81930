"""Long audio: windowed-vs-whole token agreement, peak memory against length, and decode seam error.

    python benchmarks/long_audio.py agreement --model bundled --minutes 2 --windows 10:2 30:5 30:10
    python benchmarks/long_audio.py memory --model bundled --minutes 1 10 60
    python benchmarks/long_audio.py seams --model bundled --minutes 2

``memory`` runs one subprocess per length (peak RSS is per process) that writes a wav of that length
and encodes it with ``HACTokenizer.encode_file`` (streamed windows) or ``encode`` (whole file in RAM,
then windows): ``--mode file`` / ``--mode array``. Test audio is a speech-like synthetic signal (gliding
harmonics, syllable-rate amplitude modulation, noise); on a randomly initialised model agreement is a
numerical-stability check of the windowing, not a statement about trained tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from hac_tokenizer import HACConfig, HACTokenizer

SAMPLE_RATE = 16000


def load(name: str) -> HACTokenizer:
    if name == "bundled":
        return HACTokenizer.from_pretrained()
    torch.manual_seed(0)
    return HACTokenizer.from_config(HACConfig.preset(name))


def speech_like(seconds: float, seed: int = 0, start: float = 0.0) -> np.ndarray:
    """``[S]`` float32: a 3-harmonic voice gliding around 120-220 Hz, 4 Hz syllable envelope, noise."""
    rng = np.random.default_rng(seed)
    t = start + np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 170 + 50 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in (1, 2, 3))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.2 * envelope * voice + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def agreement(args: argparse.Namespace) -> None:
    tok = load(args.model)
    audio = torch.from_numpy(speech_like(args.minutes * 60))
    whole = tok.encode(audio, window_seconds=None)
    print(f"model {tok.name}, {args.minutes:g} min of audio; agreement of windowed with whole-utterance tokens\n")
    print("| window s | overlap s | " + " | ".join(whole.streams()) + " |")
    print("|---|---|" + "---|" * len(whole.streams()))
    for spec in args.windows:
        window, overlap = map(float, spec.split(":"))
        windowed = tok.encode(audio, window_seconds=window, overlap_seconds=overlap)
        rates = [(windowed.streams()[n] == t).float().mean().item() for n, t in whole.streams().items()]
        print(f"| {window:g} | {overlap:g} | " + " | ".join(f"{100 * r:.2f}%" for r in rates) + " |", flush=True)


def write_long_wav(path: Path, minutes: float) -> None:
    """Written a minute at a time so the parent never holds the whole signal."""
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, subtype="PCM_16") as f:
        for minute in range(math.ceil(minutes)):
            f.write(speech_like(min(60.0, minutes * 60 - minute * 60), seed=minute, start=minute * 60.0))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def memory_child(args: argparse.Namespace) -> None:
    tok = load(args.model)
    tok.encode(torch.from_numpy(speech_like(2.0)))  # warm-up: allocator and kernels, as in real use
    baseline = peak_rss_mib()
    start = time.perf_counter()
    if args.mode == "file":
        tokens = tok.encode_file(args.path)
    else:
        tokens = tok.encode(args.path)
    elapsed = time.perf_counter() - start
    print(json.dumps({"baseline_mib": baseline, "peak_mib": peak_rss_mib(), "seconds": elapsed,
                      "frames": int(tokens.lengths[0])}))


def memory(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = Path(tmp) / f"{minutes:g}min.wav"
            write_long_wav(path, minutes)
            child = [sys.executable, __file__, "memory-child", "--model", args.model, "--mode", args.mode, str(path)]
            finished = subprocess.run(child, check=True, capture_output=True, text=True)
            result = json.loads(finished.stdout.splitlines()[-1])
            rows.append((minutes, result))
            path.unlink()
            print(f"# {minutes:g} min done: {result}", flush=True)
    first = rows[0][1]["peak_mib"]
    print(f"\nmodel {args.model}, mode {args.mode} (peak RSS of a fresh process per length)\n")
    print("| audio | peak RSS MiB | after model load MiB | peak / first | encode s | x-realtime |")
    print("|---|---|---|---|---|---|")
    for minutes, r in rows:
        print(f"| {minutes:g} min | {r['peak_mib']:.0f} | {r['baseline_mib']:.0f} | {r['peak_mib'] / first:.2f} "
              f"| {r['seconds']:.1f} | {minutes * 60 / r['seconds']:.1f} |")


def seams(args: argparse.Namespace) -> None:
    tok = load(args.model)
    tokens = tok.encode(torch.from_numpy(speech_like(args.minutes * 60)), window_seconds=None)
    whole = tok.decode(tokens, window_seconds=None).waveform[0]
    rms = whole.pow(2).mean().sqrt().item()
    print(f"model {tok.name}, {args.minutes:g} min; windowed decode vs whole decode (signal RMS {rms:.4f})\n")
    print("| window s | overlap s | max abs error | RMS error | error / signal RMS (dB) |")
    print("|---|---|---|---|---|")
    for spec in args.windows:
        window, overlap = map(float, spec.split(":"))
        windowed = tok.decode(tokens, window_seconds=window, overlap_seconds=overlap).waveform[0]
        error = windowed - whole
        err_rms = error.pow(2).mean().sqrt().item()
        db = 20 * math.log10(max(err_rms, 1e-12) / rms)
        print(f"| {window:g} | {overlap:g} | {error.abs().max().item():.2e} | {err_rms:.2e} | {db:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    agree = sub.add_parser("agreement")
    agree.add_argument("--minutes", type=float, default=2.0)
    agree.add_argument("--windows", nargs="+", default=["10:2", "20:4", "30:5", "30:10"], help="window:overlap s")
    mem = sub.add_parser("memory")
    mem.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    mem.add_argument("--mode", choices=("file", "array"), default="file")
    child = sub.add_parser("memory-child")
    child.add_argument("path")
    child.add_argument("--mode", choices=("file", "array"), default="file")
    seam = sub.add_parser("seams")
    seam.add_argument("--minutes", type=float, default=2.0)
    seam.add_argument("--windows", nargs="+", default=["10:0", "10:0.2", "10:1", "30:1"], help="window:overlap s")
    for p in (agree, mem, child, seam):
        p.add_argument("--model", default="bundled", help="'bundled' or a preset name (random init)")
    args = parser.parse_args()
    {"agreement": agreement, "memory": memory, "memory-child": memory_child, "seams": seams}[args.command](args)


if __name__ == "__main__":
    main()
