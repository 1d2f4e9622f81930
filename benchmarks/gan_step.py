"""The discriminators' part of a GAN training step, as the bundled recipe runs it, against the formulation it replaced.

    python benchmarks/gan_step.py --repeats 5

After the warm-up (``discriminator.start_step``) the discriminators cost more CPU time than the model. This times
their two parts of a step on the recipe's discriminators and batch (8 x 1.92 s, random clips; the "fake" is a
differentiable function of a leaf, as the decoder's output is): the discriminator update (forward on real and
detached fake together, loss, backward) and the generator's adversarial terms (``losses.adversarial_terms``:
forward, generator and feature-matching losses, backward into the fake), under the recipe's bf16 autocast where
the CPU has bf16 instructions. The reference, in the same process and on the same weights, is how they ran before
2026-12-02: the generator's terms from one pass over ``cat([real, fake])`` and the period discriminators' 2-D
convolutions over the fold. Rounds alternate the two; CPU seconds (``time.process_time``, all threads), medians
over repeats after a warm-up round. Also checks that both give the same terms.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from einops import rearrange
from machine import machine_description

from hac_tokenizer.cpu import cpu_info
from hac_tokenizer.training.config import TrainConfig
from hac_tokenizer.training.discriminators import (
    DiscriminatorOutput,
    MultiDiscriminator,
    PeriodDiscriminator,
    split_outputs,
)
from hac_tokenizer.training.losses import (
    adversarial_terms,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
)
from hac_tokenizer.training.runtime import frozen

SAMPLE_RATE = 16_000


def _period_2d(self: PeriodDiscriminator, x: torch.Tensor) -> DiscriminatorOutput:
    """The period discriminator as HiFi-GAN writes it: 2-D (k, 1) convolutions over ``[B, 1, S / p, p]``."""
    x = F.pad(x, (0, -x.shape[-1] % self.period), mode="reflect")
    x = rearrange(x, "b c (t p) -> b c t p", p=self.period)
    features = []
    for layer in self.layers:
        x = F.leaky_relu(layer(x), 0.1)
        features.append(x)
    return DiscriminatorOutput(self.to_logits(x), features)


@contextlib.contextmanager
def reference_period_discriminators() -> Iterator[None]:
    current = PeriodDiscriminator.forward
    PeriodDiscriminator.forward = _period_2d
    try:
        yield
    finally:
        PeriodDiscriminator.forward = current


def joint_adversarial_terms(discriminator, real, fake, kind):
    """The generator's terms from one pass over real and fake together (the reference)."""
    real_out, fake_out = split_outputs(discriminator(torch.cat([real, fake])), len(real))
    return generator_loss(fake_out, kind), feature_matching_loss(real_out, fake_out)


def cpu_seconds(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (after one warm-up round)")
    parser.add_argument("--config", default="hac-mls8-small", help="recipe whose discriminators and batch are timed")
    args = parser.parse_args()
    config = TrainConfig.load(args.config)
    d = config.discriminator
    torch.manual_seed(0)
    disc = MultiDiscriminator(SAMPLE_RATE, d.periods, d.stft_windows, d.period_channels, d.stft_channels)
    samples = round(config.data.clip_seconds * SAMPLE_RATE)
    generator = torch.Generator().manual_seed(1)
    real = 0.1 * torch.randn(config.data.batch_size, 1, samples, generator=generator)
    leaf = (real + 0.02 * torch.randn(real.shape, generator=generator)).requires_grad_(True)
    bf16 = config.amp == "bf16" and cpu_info().has_bf16

    def generator_part(terms) -> tuple[float, float]:
        leaf.grad = None
        with frozen(disc), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            adversarial, matching = terms(disc, real, leaf * 1.0, d.loss)
        (adversarial + matching).backward()
        return adversarial.item(), matching.item()

    def discriminator_part() -> None:
        disc.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outputs = disc(torch.cat([real, leaf.detach()]))
        discriminator_loss(*split_outputs(outputs, len(real)), d.loss).backward()

    subjects = {"reference": (joint_adversarial_terms, reference_period_discriminators),
                "current": (adversarial_terms, contextlib.nullcontext)}  # fmt: skip
    times: dict[str, dict[str, list[float]]] = {name: {"generator": [], "discriminator": []} for name in subjects}
    terms_seen: dict[str, tuple[float, float]] = {}
    for round_ in range(args.repeats + 1):
        for name, (terms, periods) in subjects.items():
            with periods():
                g_time, terms_seen[name] = cpu_seconds(lambda terms=terms: generator_part(terms))
                d_time, _ = cpu_seconds(discriminator_part)
            if round_:
                times[name]["generator"].append(g_time)
                times[name]["discriminator"].append(d_time)
    print(machine_description())
    print(f"{args.config}: discriminators {len(d.periods)} period + {len(d.stft_windows)} STFT, batch "
          f"{config.data.batch_size} x {config.data.clip_seconds} s, {'bf16 autocast' if bf16 else 'fp32'}, "
          f"{args.repeats} rounds")  # fmt: skip
    print("| formulation | generator's adversarial terms CPU-s | discriminator update CPU-s | both | terms |")
    print("|---|---|---|---|---|")
    base = sum(statistics.median(v) for v in times["reference"].values())
    for name, parts in times.items():
        g, dd = statistics.median(parts["generator"]), statistics.median(parts["discriminator"])
        adversarial, matching = terms_seen[name]
        ratio = base / (g + dd)
        print(f"| {name} | {g:.2f} | {dd:.2f} | {g + dd:.2f} ({ratio:.2f}x) | {adversarial:.5f}, {matching:.5f} |")


if __name__ == "__main__":
    main()
