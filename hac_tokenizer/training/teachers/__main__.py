"""Precompute a teacher's targets for every utterance of some manifests (see ``cache.py``).

    python -m hac_tokenizer.training.teachers --teacher '{"kind": "hubert", "path": "facebook/hubert-base-ls960"}' \\
        --manifest data/train.jsonl --out cache/hubert [--device cuda]

then train with ``teachers.phonetic={"kind": "cached", "path": "cache/hubert"}``. Re-running skips cached ids.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torch import nn

from ...errors import HACError
from ...manifest import read_manifest
from .cache import precompute_teacher
from .factory import build_teacher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hac_tokenizer.training.teachers", description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", required=True, help="teacher spec as JSON, as in a recipe's teachers section")
    parser.add_argument("--manifest", action="append", required=True, help="JSONL manifest (repeat for several)")
    parser.add_argument("--split", default=None, help="only this split of the manifests")
    parser.add_argument("--out", required=True, help="cache directory")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        spec = json.loads(args.teacher)
        teacher = build_teacher(spec)
        if isinstance(teacher, nn.Module):
            teacher.to(torch.device(args.device))
        entries = [e for path in args.manifest for e in read_manifest(path, args.split)]
        computed = precompute_teacher(teacher, entries, args.out, spec)
    except (HACError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{computed} utterances computed, {len(entries) - computed} already cached, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
