"""Precompute a teacher's targets for every utterance of some manifests (see cache.py).

    python -m hac_tokenizer.training.teachers --teacher '{"kind": "hubert", "path": "facebook/hubert-base-ls960"}' \\
        --manifest data/train.jsonl --out cache/hubert --config hac-14-l16 [--device cuda]

then train that recipe with ``teachers.phonetic={"kind": "cached", "path": "cache/hubert"}``. The targets are on
the frames of the recipe's model (``--config``, or a preset name with ``--model``). Re-running skips cached ids.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torch import nn

from ...config import HACConfig
from ...errors import HACError
from ...manifest import read_manifest
from ..config import TrainConfig
from .cache import precompute_teacher
from .factory import build_teacher


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hac_tokenizer.training.teachers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--teacher", required=True, help="teacher spec as JSON, as in a recipe's teachers section")
    parser.add_argument("--manifest", action="append", required=True, help="JSONL manifest (repeat for several)")
    parser.add_argument("--split", default=None, help="only this split of the manifests")
    parser.add_argument("--out", required=True, help="cache directory")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--config", help="the training recipe (YAML) whose model the targets are for")
    model.add_argument("--model", help="or the model's preset name, as in a recipe's model key")
    parser.add_argument("--device", default="cpu")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = TrainConfig.load(args.config).model_config() if args.config else HACConfig.preset(args.model)
        spec = json.loads(args.teacher)
        teacher = build_teacher(spec, sample_rate=config.sample_rate, hop_length=config.hop_length)
        if isinstance(teacher, nn.Module):
            teacher.to(torch.device(args.device))
        entries = [e for path in args.manifest for e in read_manifest(path, args.split)]
        computed = precompute_teacher(
            teacher, entries, args.out, spec, sample_rate=config.sample_rate, hop_length=config.hop_length
        )
    except (HACError, json.JSONDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{computed} utterances computed, {len(entries) - computed} already cached, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
