"""Training and inference throughput of the bundled architecture against the one it replaced, in one process.

    python benchmarks/train_speed.py --steps 6 --repeats 3

Both models are timed on the same random clips at the bundled recipe's shape (batch 8 x 1.92 s): one generator
step of the warm-up (forward, multi-scale mel + VQ losses, backward, AdamW), which is what ``hac-train`` runs
before the discriminators start. The bundled model steps with the trainer's optimiser (``make_optimiser``: fused
AdamW); the previous one with the per-tensor AdamW its recipe ran. Where the CPU has bf16 instructions the bundled
model is timed a second time under the recipe's bf16 autocast (``amp: bf16``; the mel loss stays fp32). Audio
seconds trained per CPU-second counts the process's CPU time over all threads (``time.process_time``), so it does
not depend on how many cores are free. Inference is timed on a 10 s clip through ``HACModel.encode`` / ``decode``
(x-realtime = audio seconds / wall seconds). Rounds alternate the models so load on a shared machine spreads over
all; rates are medians over rounds and ratios medians of each round's ratio. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
from machine import machine_description

from hac_tokenizer.config import HACConfig, small_config
from hac_tokenizer.cpu import cpu_info
from hac_tokenizer.model import HACModel
from hac_tokenizer.training.config import TrainConfig
from hac_tokenizer.training.losses import MelLoss
from hac_tokenizer.training.trainer import make_optimiser

# The bundled default until 2026-12: the paper's DAC CNN encoder and decoder scaled down, RVQ(Z).
PREVIOUS = dataclasses.replace(
    small_config(),
    encoder_kind="dac-cnn",
    encoder_dim=16,
    encoder_depth=1,
    decoder_kind="dac-cnn",
    decoder_dim=192,
    decoder_depth=1,
    acoustic_input="latent",
)
STREAMS = ("lexical", "phonetic", "acoustic")


class Subject:
    def __init__(
        self, label: str, config: HACConfig, batch: int, seconds: float, recipe: TrainConfig | None, bf16: bool = False
    ) -> None:
        torch.manual_seed(0)
        self.label, self.model, self.mel = label, HACModel(config), MelLoss(config.sample_rate)
        self.bf16 = bf16  # the training step under autocast; inference is timed in fp32 only (tokens need it)
        # recipe None: the per-tensor AdamW that the previous recipe ran
        self.optimiser = (
            make_optimiser(self.model, recipe)[0] if recipe else torch.optim.AdamW(self.model.parameters(), lr=1e-4)
        )
        samples = round(seconds * config.frame_rate) * config.hop_length
        self.clips = 0.1 * torch.randn(batch, 1, samples, generator=torch.Generator().manual_seed(1))
        self.audio_seconds = batch * samples / config.sample_rate
        self.params = sum(p.numel() for p in self.model.parameters())
        self.train_rates: list[float] = []
        self.encode_rates: list[float] = []
        self.decode_rates: list[float] = []

    def train_steps(self, steps: int) -> None:
        self.model.train()
        start = time.process_time()
        for _ in range(steps):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                out = self.model(self.clips)
            quantized = out.quantized.values()
            loss = 15.0 * self.mel(out.audio, self.clips) + sum(
                0.25 * q.commitment_loss + q.codebook_loss for q in quantized
            )
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()
        self.train_rates.append(steps * self.audio_seconds / (time.process_time() - start))

    @torch.no_grad()
    def inference(self, audio: torch.Tensor) -> None:
        if self.bf16:
            return
        self.model.eval()
        seconds = audio.shape[-1] / self.model.config.sample_rate
        start = time.perf_counter()
        codes = self.model.encode(audio, None, STREAMS)
        middle = time.perf_counter()
        self.model.decode(self.model.embed(codes), None)
        end = time.perf_counter()
        self.encode_rates.append(seconds / (middle - start))
        self.decode_rates.append(seconds / (end - middle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="training steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (the first, warm-up, is not counted)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--clip-seconds", type=float, default=1.92)
    args = parser.parse_args()
    recipe = TrainConfig.load("hac-mls8-small")
    subjects = [
        Subject("previous (DAC CNN, RVQ(Z))", PREVIOUS, args.batch, args.clip_seconds, None),
        Subject(
            "bundled (mel-ConvNeXt + iSTFT, residual)", recipe.model_config(), args.batch, args.clip_seconds, recipe
        ),
    ]
    has_bf16 = cpu_info().has_bf16
    if has_bf16:
        subjects.append(
            Subject("bundled, bf16 autocast", recipe.model_config(), args.batch, args.clip_seconds, recipe, bf16=True)
        )
    audio = 0.1 * torch.randn(1, 1, 160_000, generator=torch.Generator().manual_seed(2))
    for round_ in range(args.repeats + 1):
        for subject in subjects:
            subject.train_steps(args.steps if round_ else 1)
            subject.inference(audio)
    for subject in subjects:  # drop the warm-up round
        for rates in (subject.train_rates, subject.encode_rates, subject.decode_rates):
            del rates[:1]
    print(machine_description())
    print(f"training: batch {args.batch} x {args.clip_seconds} s, {args.steps} steps x {args.repeats} rounds")
    print("" if has_bf16 else "this CPU has no bf16 instructions: fp32 only, as hac-train would train here")
    print("| model | params | train audio-s / CPU-s | encode x-realtime | decode x-realtime |")
    print("|---|---|---|---|---|")
    base = subjects[0]
    for s in subjects:
        cells = [
            f"{statistics.median(rates):{form}} ({paired_ratio(rates, reference):.2f}x)" if rates else "—"
            for rates, reference, form in (
                (s.train_rates, base.train_rates, ".2f"),
                (s.encode_rates, base.encode_rates, ".1f"),
                (s.decode_rates, base.decode_rates, ".1f"),
            )
        ]
        print(f"| {s.label} | {s.params / 1e6:.1f}M | {' | '.join(cells)} |")
    for s in subjects[1:]:
        ratios = sorted(r / b for r, b in zip(s.train_rates, base.train_rates))
        print(f"{s.label}: training ratio per round {', '.join(f'{r:.2f}' for r in ratios)}")


def paired_ratio(rates: list[float], reference: list[float]) -> float:
    """Median over rounds of each round's ratio: the rounds time every model back to back, so a slow spell of the
    machine moves both sides of a round's ratio, where it would move only one median."""
    return statistics.median(r / b for r, b in zip(rates, reference))


if __name__ == "__main__":
    main()
