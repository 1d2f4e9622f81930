"""Where encode and decode time goes: per part of the model, and per kind of op (CPU).

    python benchmarks/time_breakdown.py --models hac-14-l16 bundled --seconds 10 --batch 1 --repeats 3

Per part: the model's own entry points timed one at a time under ``inference_mode``, the tokenizer's heap
policy and cached weight-norm weights (as ``HACTokenizer`` runs them): the encoder (audio -> Z), each stream's quantizer path from Z (the
transformers and VQ of the content streams, the RVQ of the acoustic one), the code lookup (codes -> Z_Q) and the
decoder; medians of ``--repeats``. Per op: ``torch.profiler`` over one encode and one decode, the ops with the
most self CPU time, grouped as the profiler names them (Snake is ``aten::sin``/``aten::pow``/``aten::mul``/...;
convolutions ``aten::mkldnn_convolution`` or ``aten::_convolution`` depending on the build).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.nn.utils import parametrize
from torch.profiler import ProfilerActivity, profile

from hac_tokenizer import HACConfig, HACTokenizer
from hac_tokenizer.heap import reusing_heap


def load(name: str) -> HACTokenizer:
    if name == "bundled":
        return HACTokenizer.from_pretrained()
    torch.manual_seed(0)
    return HACTokenizer.from_config(HACConfig.preset(name))


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parts(tok: HACTokenizer, audio: torch.Tensor, repeats: int) -> list[tuple[str, float]]:
    """(part, median seconds) for one batch ``audio [B, 1, S]``."""
    model = tok.model
    z = model.latent(audio, None)
    codes = model.encode(audio, None, model.config.streams)
    rows = [("encoder (audio -> Z)", median_seconds(lambda: model.latent(audio, None), repeats))]
    for stream in model.config.streams:
        seconds = median_seconds(lambda s=stream: model.quantizer.encode(z, None, (s,)), repeats)
        # an acoustic RVQ on the content streams' residual runs them too: its row includes their cost
        reads_residual = stream == "acoustic" and model.config.acoustic_input == "residual"
        rows.append((f"{stream} stream (Z -> codes{', with the content streams' if reads_residual else ''})", seconds))
    z_q = model.embed(codes)
    rows.append(("code lookup (codes -> Z_Q)", median_seconds(lambda: model.embed(codes), repeats)))
    rows.append(("decoder (Z_Q -> audio)", median_seconds(lambda: model.decode(z_q, None), repeats)))
    return rows


def top_ops(fn: Callable[[], object], count: int) -> list[tuple[str, float, float]]:
    """(op, self CPU ms, share of the total self CPU time) of the ``count`` costliest ops of one call."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ranked = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:count]
    return [(e.key, e.self_cpu_time_total / 1e3, e.self_cpu_time_total / total) for e in ranked]


def report(name: str, args: argparse.Namespace) -> None:
    tok = load(name)
    model = tok.model
    streams = model.config.streams
    samples = round(args.seconds * tok.sample_rate / tok.hop_length) * tok.hop_length
    audio = 0.1 * torch.randn(args.batch, 1, samples, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), reusing_heap(), parametrize.cached():  # as HACTokenizer runs the model
        codes = model.encode(audio, None, streams)
        model.decode(model.embed(codes), None)  # warm-up: kernel choice, the heap
        rows = parts(tok, audio, args.repeats)
        encode_ops = top_ops(lambda: model.encode(audio, None, streams), args.ops)
        decode_ops = top_ops(lambda: model.decode(model.embed(codes), None), args.ops)
    audio_seconds = args.batch * samples / tok.sample_rate
    total = sum(seconds for _, seconds in rows)
    print(f"\n{tok.name}: batch {args.batch} x {args.seconds:g} s, {torch.get_num_threads()} threads\n")
    print("| part | ms | RTF | share of encode + decode |")
    print("|---|---|---|---|")
    for part, seconds in rows:
        print(f"| {part} | {1e3 * seconds:.0f} | {seconds / audio_seconds:.4f} | {100 * seconds / total:.0f} % |")
    for what, ops in (("encode", encode_ops), ("decode", decode_ops)):
        print(f"\n{what}: ops with the most self CPU time\n\n| op | self ms | share |\n|---|---|---|")
        for op, ms, share in ops:
            print(f"| `{op}` | {ms:.0f} | {100 * share:.0f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["hac-14-l16", "bundled"], help="presets or 'bundled'")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ops", type=int, default=8, help="ops listed per call")
    args = parser.parse_args()
    for name in args.models:
        report(name, args)


if __name__ == "__main__":
    main()
