"""Back-to-back calls under three C-heap policies: per-call time, minor page faults and system time.

    python benchmarks/heap_policy.py --model hac-14-l16 --seconds 1 5 --batch 1

Each policy runs in its own subprocess (glibc's settings are per process), timing ``--repeats`` encodes and
decodes after one warm-up call, as a loop over files does:

* ``idle-trim``: :func:`hac_tokenizer.heap.reusing_heap` as shipped: the freed heap goes back to the OS once no
  call has begun for ``heap.IDLE_SECONDS``;
* ``trim-each-call``: the same, but trimmed at the end of every call (the policy before 2026-12-01's change);
* ``no-policy``: glibc's defaults (the policy switched off).

Minor faults and system time come from ``getrusage`` around the timed calls; a fault is a page the kernel had to
hand the process anew. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from hac_tokenizer import HACConfig, HACTokenizer, heap

POLICIES = ("idle-trim", "trim-each-call", "no-policy")


def _use_policy(policy: str) -> None:
    libc = heap._glibc()
    if policy == "no-policy" or libc is None:
        heap._glibc = lambda: None
    elif policy == "trim-each-call":
        heap.IDLE_SECONDS = 0.0  # the trim timer fires as soon as the outermost call ends


def _measure(model: str, policy: str, seconds: float, batch: int, repeats: int) -> dict[str, float]:
    _use_policy(policy)
    torch.manual_seed(0)
    tok = HACTokenizer.from_pretrained() if model == "bundled" else HACTokenizer.from_config(HACConfig.preset(model))
    wav = 0.1 * torch.randn(batch, int(tok.sample_rate * seconds))
    codes = tok.encode(wav)  # warm-up: kernels, and the heap a loop of calls would have
    tok.decode(codes)
    result = {}
    for name, call in (("encode", lambda: tok.encode(wav)), ("decode", lambda: tok.decode(codes))):
        times, before = [], resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(repeats):
            if policy == "trim-each-call":
                time.sleep(0.01)  # let the trim timer of the previous call fire, as a trim at its end did
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        result[f"{name}_ms"] = 1000 * statistics.median(times)
        result[f"{name}_faults"] = (after.ru_minflt - before.ru_minflt) / repeats
        result[f"{name}_sys_ms"] = 1000 * (after.ru_stime - before.ru_stime) / repeats
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hac-14-l16", help="a preset or 'bundled'")
    parser.add_argument("--seconds", nargs="+", type=float, default=[1.0, 5.0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("POLICY", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        policy, seconds = args.child
        print(json.dumps(_measure(args.model, policy, float(seconds), args.batch, args.repeats)))
        return
    print(f"{args.model}, batch {args.batch}, {args.threads} threads, median of {args.repeats} back-to-back calls\n")
    print("| clip | policy | encode ms | faults | sys ms | decode ms | faults | sys ms |")
    print("|---|---|---|---|---|---|---|---|")
    for seconds in args.seconds:
        for policy in POLICIES:
            command = [sys.executable, __file__, "--model", args.model, "--batch", str(args.batch), "--repeats",
                       str(args.repeats), "--threads", str(args.threads), "--child", policy, str(seconds)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"| {seconds:g} s | {policy} | {r['encode_ms']:.0f} | {r['encode_faults']:.0f} | "
                  f"{r['encode_sys_ms']:.0f} | {r['decode_ms']:.0f} | {r['decode_faults']:.0f} | {r['decode_sys_ms']:.0f} |")


if __name__ == "__main__":
    main()
