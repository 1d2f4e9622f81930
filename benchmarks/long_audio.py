"""Long audio: throughput and system time, windowed-vs-whole token agreement, peak memory, decode seam error.

    python benchmarks/long_audio.py throughput --model bundled --minutes 10 --clips 4
    python benchmarks/long_audio.py agreement --model bundled --minutes 2 --windows 10:2 30:5 30:10
    python benchmarks/long_audio.py memory --model bundled --minutes 1 10 60
    python benchmarks/long_audio.py seams --model bundled --minutes 2

``throughput`` times, in one process, whole-utterance encode and decode of ``--clips`` 30 s clips (the
reference) and windowed ``encode_file`` and ``decode`` of a ``--minutes`` file, with the user and system CPU
time of each (``getrusage``): system time is what the kernel spent for the process, mostly faulting in pages.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Times:
    """Wall, user and system seconds (this process's CPU time, all its threads)."""

    wall: float = 0.0
    user: float = 0.0
    system: float = 0.0


@contextmanager
def timed() -> Iterator[Times]:
    """Times of the ``with`` body, filled in when it ends."""
    times = Times()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    yield times
    after = resource.getrusage(resource.RUSAGE_SELF)
    times.wall = time.perf_counter() - start
    times.user, times.system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def throughput(args: argparse.Namespace) -> None:
    tok = load(args.model)
    clips = [torch.from_numpy(speech_like(30.0, seed=100 + i)) for i in range(args.clips)]
    tok.decode(tok.encode(clips[0]))  # warm-up: kernels and the heap, as in real use
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        write_long_wav(path, args.minutes)
        with timed() as t:
            clip_tokens = [tok.encode(clip) for clip in clips]
        rows.append(("encode, whole 30 s clips", 30.0 * len(clips), t))
        with timed() as t:
            for tokens in clip_tokens:
                tok.decode(tokens)
        rows.append(("decode, whole 30 s clips", 30.0 * len(clips), t))
        with timed() as t:
            long_tokens = tok.encode_file(path)
        rows.append((f"encode_file, {args.minutes:g} min in windows", args.minutes * 60, t))
        with timed() as t:
            tok.decode(long_tokens)
        rows.append((f"decode, {args.minutes:g} min in windows", args.minutes * 60, t))
    print(f"model {tok.name}, {torch.get_num_threads()} threads\n")
    print("| what | audio s | wall s | x-realtime | user s | system s | system / user |")
    print("|---|---|---|---|---|---|---|")
    for what, seconds, t in rows:
        print(f"| {what} | {seconds:.0f} | {t.wall:.1f} | {seconds / t.wall:.1f} | {t.user:.1f} | {t.system:.1f} "
              f"| {100 * t.system / t.user:.1f} % |")
    for k, kind in enumerate(("encode", "decode")):
        (_, whole_s, whole), (_, long_s, windowed) = rows[k], rows[k + 2]
        ratio = (long_s / windowed.wall) / (whole_s / whole.wall)
        print(f"\n{kind}: windowed throughput / whole-clip throughput = {ratio:.2f}", end="")
    print()


def memory_child(args: argparse.Namespace) -> None:
    tok = load(args.model)
    tok.encode(torch.from_numpy(speech_like(2.0)))  # warm-up: allocator and kernels, as in real use
    baseline = peak_rss_mib()
    with timed() as t:
        tokens = tok.encode_file(args.path) if args.mode == "file" else tok.encode(args.path)
    print(json.dumps({"baseline_mib": baseline, "peak_mib": peak_rss_mib(), "seconds": t.wall, "user": t.user,
                      "system": t.system, "frames": int(tokens.lengths[0])}))


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
    print("| audio | peak RSS MiB | after model load MiB | peak / first | encode s | x-realtime | system / user |")
    print("|---|---|---|---|---|---|---|")
    for minutes, r in rows:
        print(f"| {minutes:g} min | {r['peak_mib']:.0f} | {r['baseline_mib']:.0f} | {r['peak_mib'] / first:.2f} "
              f"| {r['seconds']:.1f} | {minutes * 60 / r['seconds']:.1f} | {100 * r['system'] / r['user']:.1f} % |")


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
    rate = sub.add_parser("throughput")
    rate.add_argument("--minutes", type=float, default=10.0)
    rate.add_argument("--clips", type=int, default=4, help="30 s clips for the whole-utterance reference")
    seam = sub.add_parser("seams")
    seam.add_argument("--minutes", type=float, default=2.0)
    seam.add_argument("--windows", nargs="+", default=["10:0", "10:0.2", "10:1", "30:1"], help="window:overlap s")
    for p in (agree, mem, child, rate, seam):
        p.add_argument("--model", default="bundled", help="'bundled' or a preset name (random init)")
    args = parser.parse_args()
    commands = {"agreement": agreement, "memory": memory, "memory-child": memory_child, "throughput": throughput,
                "seams": seams}
    commands[args.command](args)


if __name__ == "__main__":
    main()
