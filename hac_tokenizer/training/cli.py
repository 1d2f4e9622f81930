"""``hac-train``: list the packaged recipes, train or resume one, or export a run for inference.

hac-train recipes                                          # name, summary, data and cost of each recipe
hac-train --print-config hac-14-l16 [key=value ...]        # the resolved recipe, to copy and edit
hac-train --config tiny [key=value ...]                    # trains; resumes if run_dir has state
hac-train --config my-recipe.yaml                          # a recipe file of one's own
torchrun --nproc_per_node 8 -m hac_tokenizer.training.cli --config hac-14-l16
hac-train export --run runs/hac-14-l16 --out checkpoints/hac-14-l16 [--fp16] [--average SNAPSHOT_DIR ...]
"""

from __future__ import annotations

import argparse
import logging
import sys

import torch

from ..errors import HACError
from .config import TrainConfig
from .recipes import recipe_names

log = logging.getLogger("hac_tokenizer.training")


def _train(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hac-train",
        description="Train a HAC model from a recipe. Other commands: `hac-train recipes`, `hac-train export`.",
    )
    recipe = parser.add_mutually_exclusive_group(required=True)
    recipe.add_argument("--config", metavar="RECIPE", help="a packaged recipe's name (e.g. hac-14-l16) or a YAML path")
    recipe.add_argument("--print-config", metavar="RECIPE", help="print the resolved recipe (overrides applied), exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no log lines, only errors")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. data.batch_size=4")
    args = parser.parse_args(argv)
    if args.print_config:
        print(TrainConfig.load(args.print_config, args.overrides).to_yaml(), end="")
        return 0
    config = TrainConfig.load(args.config, args.overrides)
    if args.quiet:
        _silence()
    from .runtime import start_runtime, stop_runtime
    from .trainer import Trainer

    runtime = start_runtime(config.device, config.amp)
    try:
        trainer = Trainer(config, runtime)
        if runtime.is_main:
            log.info(
                "%s: step %d of %d on %s x%d, amp %s",
                config.name,
                trainer.step,
                config.steps,
                runtime.device,
                runtime.world_size,
                runtime.amp,
            )
        trainer.fit(progress=not args.quiet)
    finally:
        stop_runtime(runtime)
    return 0


def _silence() -> None:
    """``--quiet``: only warnings and errors reach the terminal, the teachers' loading bars included."""
    logging.getLogger("hac_tokenizer").setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # the teachers that need transformers are not installed, so nothing of it will print
        return
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def _recipes(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hac-train recipes", description="List the recipes shipped in the package.")
    parser.parse_args(argv)
    for name in recipe_names():
        about = TrainConfig.load(name).about
        print(f"{name}\n  {about.summary}\n  data: {about.data}\n  cost: {about.cost}")
    print("\nTrain one with `hac-train --config NAME`; see it with `hac-train --print-config NAME`.")
    return 0


def _export(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hac-train export", description="Turn a training run into a checkpoint.")
    parser.add_argument("--run", required=True, help="run directory (holds state.pt)")
    parser.add_argument("--out", required=True, help="output directory for config.json + model.safetensors")
    parser.add_argument("--fp16", action="store_true", help="store weights in float16 (half the size)")
    parser.add_argument(
        "--average",
        nargs="+",
        default=(),
        metavar="SNAPSHOT",
        help="directories holding earlier states of the same run (state.pt): export the mean of all the weights",
    )
    args = parser.parse_args(argv)
    from .export import export_run

    out = export_run(args.run, args.out, torch.float16 if args.fp16 else torch.float32, args.average)
    print(f"wrote {out}; load it with HACTokenizer.from_pretrained({str(out)!r})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if argv[:1] == ["export"]:
            return _export(argv[1:])
        if argv[:1] == ["recipes"]:
            return _recipes(argv[1:])
        return _train(argv)
    except HACError as err:
        print(f"hac-train: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
