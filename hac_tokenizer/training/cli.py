"""``hac-train``: train or resume a recipe, or export a run for inference.

    hac-train --config training/configs/tiny.yaml [key=value ...]        # trains; resumes if run_dir has state
    torchrun --nproc_per_node 8 -m hac_tokenizer.training.cli --config training/configs/hac-14-l16.yaml
    hac-train export --run runs/hac-14-l16 --out checkpoints/hac-14-l16 [--fp16]
"""

from __future__ import annotations

import argparse
import logging
import sys

import torch

from ..errors import HACError
from .config import TrainConfig

log = logging.getLogger("hac_tokenizer.training")


def _train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hac-train", description="Train a HAC model from a YAML recipe.")
    parser.add_argument("--config", required=True, help="recipe YAML, e.g. training/configs/hac-14-l16.yaml")
    parser.add_argument("--print-config", action="store_true", help="print the resolved recipe and exit")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. data.batch_size=4")
    args = parser.parse_args(argv)
    config = TrainConfig.load(args.config, args.overrides)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    from .runtime import start_runtime, stop_runtime
    from .trainer import Trainer

    runtime = start_runtime(config.device, config.amp)
    try:
        trainer = Trainer(config, runtime)
        if runtime.is_main:
            log.info("%s: step %d of %d on %s x%d", config.name, trainer.step, config.steps, runtime.device,
                     runtime.world_size)
        trainer.fit()
    finally:
        stop_runtime(runtime)
    return 0


def _export(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hac-train export", description="Turn a training run into a checkpoint.")
    parser.add_argument("--run", required=True, help="run directory (holds state.pt)")
    parser.add_argument("--out", required=True, help="output directory for config.json + model.safetensors")
    parser.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    args = parser.parse_args(argv)
    from .export import export_run

    out = export_run(args.run, args.out, torch.float16 if args.fp16 else torch.float32)
    print(f"wrote {out}; load it with HACTokenizer.from_pretrained({str(out)!r})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if argv[:1] == ["export"]:
            return _export(argv[1:])
        return _train(argv)
    except HACError as err:
        print(f"hac-train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
