"""Encode/decode speed of HAC and peer codecs, side by side in one process. Prints a markdown table.

    # peers need their own venv (see benchmarks/README.md); HAC alone runs in the main one
    PYTHONPATH=. /tmp/venv-peers/bin/python benchmarks/speed.py --models hac-14-l16 bundled \\
        --batch 1 8 --seconds 10 --repeats 3 --peers dac16k speechtokenizer encodec24k mimi
    python benchmarks/speed.py --device cuda --dtype fp32 fp16 --batch 1 8 32

Real-time factor (RTF) = wall seconds / seconds of audio processed (lower is better); x-realtime = 1/RTF.
Every (batch, repeat) round times each subject once in turn, so load on a shared machine spreads over
all of them; the table shows medians over repeats. Peers run at random initialisation in fp32; ratios
are to DAC-16k fp32 in the same run, each the median over rounds of that round's ratio: a machine whose
speed drifts over minutes (a shared 2-core builder: DAC's own RTF moved by 40 % between runs) moves both
sides of a round together, so the paired ratio holds where a ratio of two medians drifts with it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from machine import machine_description, timed
from peers import PEERS, Codec, build_peers
from torch.utils.flop_counter import FlopCounterMode

from hac_tokenizer import HACConfig, HACTokenizer
from hac_tokenizer.heap import reusing_heap

# bf16 is absent: encode refuses it (PrecisionError); precision.py times bf16 decoding
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


@dataclass
class Subject:
    """One row of the table: how to encode a batch and decode the result."""

    label: str
    dtype: str
    sample_rate: int
    params: int
    encode: Callable[[torch.Tensor], object]
    decode: Callable[[object], object] | None
    times: dict[tuple[int, str], list[float]] = field(default_factory=dict)
    flops: dict[str, float] = field(default_factory=dict)


def load_hac(name: str) -> HACTokenizer:
    """The bundled checkpoint, or a preset at random init (seeded, so every dtype gets the same weights)."""
    if name == "bundled":
        return HACTokenizer.from_pretrained()
    torch.manual_seed(0)
    return HACTokenizer.from_config(HACConfig.preset(name))


def hac_subjects(name: str, device: str, dtypes: list[str], subsets: list[str], compiled: bool) -> list[Subject]:
    subjects = []
    for dtype in dtypes:
        tok = load_hac(name).to(device, DTYPES[dtype])  # a fresh model per dtype: .to() casts in place
        if compiled:
            tok.compile()
        label = f"{tok.name} (bundled)" if name == "bundled" else tok.name
        for subset in subsets:
            streams = None if subset == "all" else tuple(subset.split(","))

            def encode(wav: torch.Tensor, tok: HACTokenizer = tok, streams: tuple | None = streams) -> object:
                return tok.encode(wav[:, 0], streams=streams)

            decode = tok.decode if subset == "all" else None
            suffix = "" if subset == "all" else f" streams={subset}"
            subjects.append(Subject(f"{label}{suffix}", dtype, tok.sample_rate, tok.num_parameters(), encode, decode))
    return subjects


def peer_subjects(codec: Codec, device: str, heap_reuse: bool) -> list[Subject]:
    """The peer as its package runs it; with ``heap_reuse`` also inside :func:`hac_tokenizer.heap.reusing_heap`,
    the C-heap policy every HAC call on the CPU runs under, so that the policy's share of a ratio can be read off."""
    codec.module.to(device)
    plain = Subject(codec.name, "fp32", codec.sample_rate, codec.num_parameters(), codec.encode, codec.decode)
    if not heap_reuse:
        return [plain]

    def encode(wav: torch.Tensor) -> object:
        with reusing_heap():
            return codec.encode(wav)

    def decode(codes: object) -> object:
        with reusing_heap():
            return codec.decode(codes)

    label = f"{codec.name} (HAC's heap policy)"
    return [plain, Subject(label, "fp32", codec.sample_rate, codec.num_parameters(), encode, decode)]


def test_signal(batch: int, seconds: float, sample_rate: int, device: str) -> torch.Tensor:
    """``[B, 1, S]`` speech-like test audio: gliding tones with noise (content does not change speed)."""
    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 100 + 60 * torch.arange(batch)[:, None] / max(batch, 1)
    wav = 0.3 * torch.sin(2 * math.pi * f0 * t * (1 + 0.2 * t / seconds)) + 0.03 * torch.randn(batch, t.numel())
    return wav[:, None].to(device)


def count_flops(subject: Subject, device: str) -> None:
    """FLOPs (matmul/conv/attention, as torch counts them) per second of audio, batch 1."""
    wav = test_signal(1, 1.0, subject.sample_rate, device)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        codes = subject.encode(wav)
    subject.flops["encode"] = counter.get_total_flops()
    if subject.decode is not None:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            subject.decode(codes)
        subject.flops["decode"] = counter.get_total_flops()


def run(subjects: list[Subject], batches: list[int], seconds: float, repeats: int, device: str) -> None:
    for subject in subjects:  # warm-up: kernel selection, allocator, lazy init
        with torch.inference_mode():
            codes = subject.encode(test_signal(1, 1.0, subject.sample_rate, device))
            if subject.decode is not None:
                subject.decode(codes)
    for batch in batches:
        for repeat in range(repeats):
            for subject in subjects:
                wav = test_signal(batch, seconds, subject.sample_rate, device)
                with torch.inference_mode():
                    elapsed, codes = timed(partial(subject.encode, wav), device)
                    subject.times.setdefault((batch, "encode"), []).append(elapsed)
                    if subject.decode is not None:
                        elapsed, _ = timed(partial(subject.decode, codes), device)
                        subject.times.setdefault((batch, "decode"), []).append(elapsed)
                spent = {what: f"{t[-1]:.2f}s" for (b, what), t in subject.times.items() if b == batch}
                print(f"# batch {batch} repeat {repeat + 1}/{repeats}: {subject.label} {subject.dtype} {spent}",
                      flush=True)


def median_rtf(subject: Subject, batch: int, what: str, seconds: float) -> float | None:
    times = subject.times.get((batch, what))
    return None if not times else statistics.median(times) / (batch * seconds)


def paired_ratio(subject: Subject, reference: Subject | None, batch: int, what: str) -> float | None:
    """Median over rounds of subject time / reference time in the same round (None where either was not timed)."""
    times = subject.times.get((batch, what))
    reference_times = None if reference is None else reference.times.get((batch, what))
    if not times or not reference_times:
        return None
    return statistics.median(t / r for t, r in zip(times, reference_times, strict=True))


def table(subjects: list[Subject], batches: list[int], seconds: float) -> str:
    reference = next((s for s in subjects if s.label == "DAC-16k"), None)
    rows = [
        (
            "| model | dtype | batch | params (M) | enc RTF | enc x-RT | dec RTF | dec x-RT | enc / DAC-16k "
            "| dec / DAC-16k | enc GFLOP per s audio | dec GFLOP per s audio | enc GFLOP/s | dec GFLOP/s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(value: float | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    for batch in batches:
        for s in subjects:
            enc, dec = median_rtf(s, batch, "encode", seconds), median_rtf(s, batch, "decode", seconds)
            enc_ratio, dec_ratio = (paired_ratio(s, reference, batch, what) for what in ("encode", "decode"))
            rows.append(
                f"| {s.label} | {s.dtype} | {batch} | {s.params / 1e6:.1f} | {fmt(enc, '.3f')} "
                f"| {fmt(enc and 1 / enc, '.1f')} | {fmt(dec, '.3f')} | {fmt(dec and 1 / dec, '.1f')} "
                f"| {fmt(enc_ratio, '.2f')} | {fmt(dec_ratio, '.2f')} "
                f"| {fmt(s.flops.get('encode', 0) / 1e9 or None, '.1f')} "
                f"| {fmt(s.flops.get('decode', 0) / 1e9 or None, '.1f')} "
                f"| {fmt(enc and s.flops.get('encode', 0) / 1e9 / enc or None, '.0f')} "
                f"| {fmt(dec and s.flops.get('decode', 0) / 1e9 / dec or None, '.0f')} |"
            )
    return "\n".join(rows)


def reference_rates(device: str, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s this machine itself reaches in fp32, timed in this process: the ceiling the models' GFLOP/s columns
    read against. A 2048 x 2048 matrix product stands for the transformers' linear layers, a 256-channel
    kernel-7 dilated convolution over 40,000 steps for the CNNs' layers (the two take different libraries on CPU)."""
    matrix = torch.randn(2048, 2048, device=device)
    signal, weight = torch.randn(1, 256, 40_000, device=device), torch.randn(256, 256, 7, device=device)
    ops = {
        "matmul": (lambda: matrix @ matrix, 2 * 2048**3),
        "conv1d": (lambda: F.conv1d(signal, weight, padding=9, dilation=3), 2 * 256 * 256 * 7 * 40_000),
    }
    rates = {}
    with torch.inference_mode():
        for name, (op, flops) in ops.items():
            op()  # kernel selection
            rates[name] = flops / 1e9 / statistics.median(timed(op, device)[0] for _ in range(repeats))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["hac-14-l16", "bundled"], help="presets or 'bundled'")
    parser.add_argument("--streams", nargs="+", default=["all", "lexical,phonetic", "acoustic"],
                        help="HAC encode stream subsets to time ('all' is also decoded)")
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS))
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", nargs="+", default=["fp32"], choices=list(DTYPES), help="HAC dtypes")
    parser.add_argument("--compile", action="store_true", help="time HAC through tok.compile()")
    parser.add_argument("--peer-heap", action="store_true", help="also time each peer under HAC's heap policy")
    parser.add_argument("--no-flops", action="store_true")
    parser.add_argument("--json", help="also write raw timings here")
    args = parser.parse_args()

    torch.manual_seed(0)
    subjects = [s for c in build_peers(args.peers) for s in peer_subjects(c, args.device, args.peer_heap)]
    for name in args.models:
        subjects += hac_subjects(name, args.device, args.dtype, args.streams, args.compile)
    if not args.no_flops:
        for subject in subjects:
            count_flops(subject, args.device)
    run(subjects, args.batch, args.seconds, args.repeats, args.device)
    print(f"\n{machine_description(args.device)}\n{args.seconds:g} s clips, median of {args.repeats} repeats\n")
    print(table(subjects, args.batch, args.seconds))
    if not args.no_flops:
        rates = reference_rates(args.device)
        print(f"\nthis machine, same process: fp32 matmul {rates['matmul']:.0f} GFLOP/s, "
              f"dilated conv1d {rates['conv1d']:.0f} GFLOP/s")
    if args.json:
        raw = [{"label": s.label, "dtype": s.dtype, "params": s.params, "flops": s.flops,
                "times": {f"{b}/{w}": t for (b, w), t in s.times.items()}} for s in subjects]
        with open(args.json, "w") as f:
            report = {"machine": machine_description(args.device), "seconds": args.seconds, "subjects": raw}
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
