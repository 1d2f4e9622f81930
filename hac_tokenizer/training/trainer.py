"""The GAN training loop of HAC: a discriminator step, then a generator step, on every batch.

Generator loss (DAC's codec terms plus HAC's distillation)::

    15 mel + 1 adversarial + 2 feature matching + 0.25 commitment + 1 codebook + kd_phonetic + kd_lexical

(weights from the recipe's ``loss`` section), and where a recipe weights them the level term
(``losses.level_loss``) and the token cycles (``cycle``: content and voice). One process per device; under ``torchrun`` the generator
(model and KD projections) and the discriminator are each wrapped in ``DistributedDataParallel``. Teachers
are frozen and run outside DDP. Every ``checkpoint_every`` steps the whole training state is written
atomically to ``run_dir/state.pt``; a new ``Trainer`` on the same ``run_dir`` continues from it. A run without one
may start from an exported checkpoint's weights instead of random ones (the recipe's ``init`` section).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .. import hub
from ..atomic import atomic_write
from ..errors import CheckpointError, ConfigError
from ..manifest import read_manifest
from ..model import HACModel
from .codebook_upkeep import CodebookUpkeep
from .config import TrainConfig
from .cycle import CYCLES
from .data.batch import Batch
from .data.loader import ClipLoader
from .discriminators import MultiDiscriminator, split_outputs
from .losses import MelLoss, adversarial_terms, discriminator_loss, level_loss
from .metrics_log import MetricsLog
from .runtime import Runtime, frozen
from .state import capture_rng, load_state, restore_rng, save_state
from .student import Student, StudentOutput
from .teachers.factory import build_teacher
from .validation import validate


class Trainer:
    def __init__(self, config: TrainConfig, runtime: Runtime) -> None:
        self.run_dir = Path(config.run_dir)
        state = load_state(self.run_dir, map_location=runtime.device)
        if state is not None:  # a resume: the run's own init, whatever the command says
            config = config.with_init_of(state["config"])
        self.config = config
        self.runtime = runtime
        torch.manual_seed(config.seed)  # identical initial weights on every rank
        device = runtime.device
        model_config = config.model_config()
        self.teachers = {
            stream: build_teacher(spec, sample_rate=model_config.sample_rate, hop_length=model_config.hop_length)
            for stream, spec in config.teachers.items()
        }
        for teacher in self.teachers.values():
            _to_device(teacher, device)
        model = HACModel(model_config)
        self.student = Student(model, {s: t.dim for s, t in self.teachers.items()}).to(device)
        d = config.discriminator
        self.discriminator = MultiDiscriminator(
            model.config.sample_rate, d.periods, d.stft_windows, d.period_channels, d.stft_channels
        ).to(device)
        self.mel_loss = MelLoss(model.config.sample_rate).to(device)
        self.upkeep = CodebookUpkeep(model, config.codebook, config.seed)
        self.opt_g, self.sched_g = make_optimiser(self.student, config, config.init.step)
        self.opt_d, self.sched_d = make_optimiser(self.discriminator, config, config.init.step)
        amp_fp16 = runtime.amp == "fp16"  # bf16 has fp32's range: no loss scaling needed
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=amp_fp16)
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=amp_fp16)
        self.loader = self._loader(config.data.train_manifests, config.data.train_split, config.data.augment)
        self.step = 0
        if state is not None:
            self._restore(state)
        elif config.init.checkpoint is not None:
            self._initialise(config.init.checkpoint)
        self.student_ddp = self._parallel(self.student)
        self.discriminator_ddp = self._parallel(self.discriminator)

    # -- building -----------------------------------------------------------------------------
    def _loader(self, manifests: tuple[str, ...], split: str | None, augment: bool) -> ClipLoader:
        batch_size = self.config.data.batch_size
        if batch_size % self.runtime.world_size:
            raise ConfigError(
                f"data.batch_size={batch_size} clips per step cannot be split over {self.runtime.world_size} "
                "processes; make it a multiple of the process count."
            )
        entries = [entry for manifest in manifests for entry in read_manifest(manifest, split)]
        if not entries:
            raise ConfigError(f"no entries{f' of split {split!r}' if split else ''} in {list(manifests)}.")
        model_config = self.student.model.config
        return ClipLoader(
            entries,
            batch_size // self.runtime.world_size,
            clip_seconds=self.config.data.clip_seconds,
            sample_rate=model_config.sample_rate,
            hop_length=model_config.hop_length,
            seed=self.config.seed,
            num_workers=self.config.data.num_workers,
            rank=self.runtime.rank,
            world_size=self.runtime.world_size,
            augment=augment,
        )

    def _parallel(self, module: nn.Module) -> nn.Module:
        if not self.runtime.distributed:
            return module
        device_ids = [self.runtime.device.index] if self.runtime.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    # -- one step -----------------------------------------------------------------------------
    def teacher_targets(self, batch: Batch, num_frames: int) -> dict:
        with torch.no_grad():
            return {s: _targets_to(t(batch, num_frames), self.runtime.device) for s, t in self.teachers.items()}

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        """One discriminator update, one generator update, codebook upkeep; returns the detached loss terms."""
        audio = batch.audio.to(self.runtime.device)  # [B, 1, S]
        num_frames = audio.shape[-1] // self.student.model.config.hop_length
        targets = self.teacher_targets(batch, num_frames)
        decode = self.step >= self.config.content_steps
        frame_mask = batch.frame_mask(num_frames).to(audio.device)  # [B, T]
        cycles = [name for name in CYCLES if getattr(self.config.loss, name)] if decode else []
        with self.runtime.autocast():
            out = self.student_ddp(audio, targets, decode, frame_mask[:, None], cycles)
        fake = out.hac.audio.float() if decode else None  # [B, 1, S]
        adversarial = self.step >= self.config.discriminator.start_step
        init = self.config.init
        held = self.step < init.step + init.hold_steps  # the loaded weights wait for the new parts (InitConfig)
        no_update = torch.zeros((), device=audio.device)
        d_loss, grad_d = self._discriminator_step(audio, fake) if adversarial else (no_update, no_update)
        terms = self.generator_terms(out, audio, fake, adversarial)
        weights = self.config.loss
        total = sum(getattr(weights, name) * value for name, value in terms.items())
        grad_g = _update(
            total,
            self.opt_g,
            self.sched_g,
            self.scaler_g,
            self.student,
            self.config.optim.grad_clip_generator,
            held=self.student.model.parameters() if held else (),
        )
        self.step += 1
        self.upkeep.observe(out.hac.quantized, frame_mask)
        if self.upkeep.due(self.step) and not held:
            self.upkeep.replace(out.hac.quantized, self.runtime, frame_mask)
        return {
            "total": total.detach(),
            **{k: v.detach() for k, v in terms.items()},
            "discriminator": d_loss,
            "grad_norm_g": grad_g,
            "grad_norm_d": grad_d,
        }

    def _discriminator_step(self, audio: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """Update the discriminators on real vs detached fake audio; returns (loss, gradient norm)."""
        # real and fake in one forward pass: DDP then sees exactly one forward per backward
        with self.runtime.autocast():
            real_out, fake_out = split_outputs(self.discriminator_ddp(torch.cat([audio, fake.detach()])), len(audio))
        loss = discriminator_loss(real_out, fake_out, self.config.discriminator.loss)
        grad_norm = _update(
            loss, self.opt_d, self.sched_d, self.scaler_d, self.discriminator, self.config.optim.grad_clip_discriminator
        )
        return loss.detach(), grad_norm

    def generator_terms(
        self, out: StudentOutput, audio: Tensor, fake: Tensor | None, adversarial: bool = True
    ) -> dict[str, Tensor]:
        """Unweighted generator loss terms, named as the fields of :class:`LossWeights`.

        Without ``adversarial`` (the warm-up before ``discriminator.start_step``) the two GAN terms are 0; without
        ``fake`` audio (the content-first stage) the mel term is 0 too, and so is a content cycle the pass did not
        compute (weight 0).
        """
        quantized = out.hac.quantized.values()
        zero = torch.zeros((), device=audio.device)
        terms = {
            "mel": zero if fake is None else self.mel_loss(fake, audio),
            "level": zero if fake is None else level_loss(fake, audio),
            "commitment": sum(q.commitment_loss for q in quantized),
            "codebook": sum(q.codebook_loss for q in quantized),
        } | {name: out.cycles.get(name, zero) for name in CYCLES}
        if adversarial:
            # the unwrapped discriminator, frozen: this pass trains the generator only, so no DDP sync is due
            with frozen(self.discriminator), self.runtime.autocast():
                terms["adversarial"], terms["feature_matching"] = adversarial_terms(
                    self.discriminator, audio, fake, self.config.discriminator.loss
                )
        else:
            terms["adversarial"] = terms["feature_matching"] = zero
        return terms | {f"kd_{stream}": loss for stream, loss in out.kd.items()}

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, progress: bool = True) -> None:
        """Train until ``config.steps``, logging, evaluating and checkpointing on schedule.

        ``progress``: draw a progress bar on stderr (main process only); the metric files are written either way.
        """
        config, runtime = self.config, self.runtime
        log = MetricsLog(self.run_dir, self.step, config.tensorboard) if runtime.is_main else None
        if runtime.is_main:
            with atomic_write(self.run_dir / "config.yaml", "w") as f:
                f.write(config.to_yaml())
        batches = iter(self.loader)
        bar = tqdm(total=config.steps, initial=self.step, desc=config.name, disable=not (progress and runtime.is_main))
        self.student.train()
        self.discriminator.train()
        clock = time.perf_counter()
        while self.step < config.steps:
            losses = self.train_step(next(batches))
            bar.update(1)
            if self.step % config.log_every == 0:
                values = self._mean_over_ranks(losses)
                seconds, clock = (time.perf_counter() - clock) / config.log_every, time.perf_counter()
                if log is not None:
                    log.write("train", self.step, values | self._progress_metrics(seconds))
                    bar.set_postfix(mel=f"{values['mel']:.3f}", total=f"{values['total']:.3f}")
            if config.data.valid_manifests and self.step % config.eval_every == 0:
                self._evaluate(log)
            if self.step % config.checkpoint_every == 0 or self.step == config.steps:
                self.save()
        bar.close()
        if log is not None:
            log.close()

    def _progress_metrics(self, seconds: float) -> dict[str, float]:
        """Learning rate, speed, and codebook health (rank 0's statistics)."""
        return {"lr": self.sched_g.get_last_lr()[0], "step_seconds": seconds, **self.upkeep.metrics()}

    def _mean_over_ranks(self, losses: dict[str, Tensor]) -> dict[str, float]:
        names = list(losses)
        values = self.runtime.mean(torch.stack([losses[n].float() for n in names]))
        return dict(zip(names, values.tolist()))

    def _evaluate(self, log: MetricsLog | None) -> None:
        if log is not None:
            loader = self._loader(self.config.data.valid_manifests, self.config.data.valid_split, augment=False)
            metrics = validate(
                self.student, self.teacher_targets, self.mel_loss, self.runtime, loader, self.config.eval_batches
            )
            log.write("eval", self.step, metrics)
        self.runtime.barrier()

    # -- checkpoints --------------------------------------------------------------------------
    def save(self) -> None:
        """Write the training state (rank 0), with every rank's RNG and data position."""
        per_rank = self.runtime.gather(
            {"rng": capture_rng(), "loader": self.loader.state_dict(), "codebooks": self.upkeep.state_dict()}
        )
        if self.runtime.is_main:
            save_state(
                {
                    "step": self.step,
                    "config": self.config.to_yaml(),
                    "model_config": self.student.model.config.to_dict(),
                    "model": self.student.model.state_dict(),
                    "distillers": self.student.distillers.state_dict(),
                    "discriminator": self.discriminator.state_dict(),
                    "optim_g": self.opt_g.state_dict(),
                    "optim_d": self.opt_d.state_dict(),
                    "sched_g": self.sched_g.state_dict(),
                    "sched_d": self.sched_d.state_dict(),
                    "scaler_g": self.scaler_g.state_dict(),
                    "scaler_d": self.scaler_d.state_dict(),
                    "ranks": per_rank,
                },
                self.run_dir,
            )
        self.runtime.barrier()

    def _initialise(self, checkpoint: str) -> None:
        """Load an exported checkpoint's weights into the model and start at ``init.step``."""
        loaded, _ = hub.load_model(checkpoint)  # sha256 checked as from_pretrained checks it
        model = self.student.model
        if loaded.config.to_dict() != model.config.to_dict():
            raise ConfigError(
                f"init.checkpoint {checkpoint!r} holds a {loaded.config.name!r} model that differs from the recipe's "
                f"{model.config.name!r}; start from a checkpoint of the recipe's architecture, or set model to its config."
            )
        model.load_state_dict(loaded.state_dict())
        self.step = self.config.init.step

    def _restore(self, state: dict) -> None:
        ranks = state["ranks"]
        if len(ranks) != self.runtime.world_size:
            raise CheckpointError(
                f"{self.run_dir} was saved by {len(ranks)} processes and is resumed by {self.runtime.world_size}; "
                "resume with the same process count (the data position is per process)."
            )
        self.student.model.load_state_dict(state["model"])
        self.student.distillers.load_state_dict(state["distillers"])
        self.discriminator.load_state_dict(state["discriminator"])
        for name in ("opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name.replace("opt", "optim")])
        for name in ("sched_g", "sched_d", "scaler_g", "scaler_d"):
            getattr(self, name).load_state_dict(state[name])
        mine = ranks[self.runtime.rank]
        self.loader.load_state_dict(mine["loader"])
        self.upkeep.load_state_dict(mine["codebooks"])
        restore_rng(mine["rng"])
        self.step = state["step"]


def make_optimiser(
    module: nn.Module, config: TrainConfig, start_step: int = 0
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The recipe's AdamW over ``module``'s parameters and its per-step learning-rate decay (``benchmarks/train_speed.py``
    times the training step with this optimiser); ``start_step``: the decay's step to begin at."""
    o = config.optim
    # fused: one kernel over all tensors; the per-tensor loop it replaces cost 4x the time on CPU (76 -> 18 CPU-ms a
    # step for the bundled generator's 218 tensors), the same update to float rounding, and the same state layout
    lr = o.lr * o.gamma**start_step
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, betas=o.betas, weight_decay=o.weight_decay, fused=True)
    return optimiser, torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=o.gamma)


def _update(
    loss: Tensor,
    optimiser,
    scheduler,
    scaler: torch.amp.GradScaler,
    module: nn.Module,
    clip: float,
    held: Iterable[nn.Parameter] = (),
) -> Tensor:
    """Backward, unscale, clip, step, decay the learning rate; returns the gradient norm before clipping.

    ``held`` parameters keep their values: their gradients are dropped before the step, which AdamW then skips.
    """
    optimiser.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimiser)
    norm = torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
    for parameter in held:
        parameter.grad = None
    scaler.step(optimiser)
    scaler.update()
    scheduler.step()
    return norm.detach()


def _to_device(teacher, device: torch.device) -> None:
    if isinstance(teacher, nn.Module):
        teacher.to(device).eval()


def _targets_to(targets, device: torch.device):
    return type(targets)(targets.features.to(device), targets.mask.to(device))
