"""The GAN trainer on CPU: losses, exact resume (in process and after SIGKILL), DDP over gloo, the paper recipe."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from tiny_runs import make_corpus, tiny_recipe, tiny_teachers

from hac_tokenizer.checkpoint import load_checkpoint
from hac_tokenizer.cpu import CpuInfo
from hac_tokenizer.errors import CheckpointError, ConfigError
from hac_tokenizer.training import runtime as runtime_module
from hac_tokenizer.training.cli import main
from hac_tokenizer.training.config import TrainConfig
from hac_tokenizer.training.cycle import CYCLES
from hac_tokenizer.training.discriminators import split_outputs
from hac_tokenizer.training.export import export_run
from hac_tokenizer.training.losses import feature_matching_loss, generator_loss
from hac_tokenizer.training.metrics_log import read_metrics
from hac_tokenizer.training.runtime import Runtime, start_runtime
from hac_tokenizer.training.state import load_state
from hac_tokenizer.training.trainer import Trainer

LOSS_COLUMNS = (
    "total",
    "mel",
    "level",
    "adversarial",
    "feature_matching",
    "commitment",
    "codebook",
    "kd_phonetic",
    "kd_lexical",
    "discriminator",
)

REPO = Path(__file__).resolve().parents[2]  # subprocesses run from the checkout, as in the README


def train(recipe: Path, *overrides: str) -> Trainer:
    config = TrainConfig.load(recipe, list(overrides))
    trainer = Trainer(config, start_runtime(config.device, config.amp))
    trainer.fit()
    return trainer


def losses(run_dir: Path) -> list[tuple[float, ...]]:
    return [tuple(row[c] for c in LOSS_COLUMNS if c in row) for row in read_metrics(run_dir / "train.csv")]


def assert_same_trajectory(run_a: Path, run_b: Path, exact: bool) -> None:
    a, b = losses(run_a), losses(run_b)
    assert len(a) == len(b) == 6
    if exact:
        assert a == b
        weights_a, weights_b = load_state(run_a), load_state(run_b)
        for part in ("model", "distillers", "discriminator"):
            assert all(torch.equal(weights_a[part][k], weights_b[part][k]) for k in weights_a[part])
    else:
        for row_a, row_b in zip(a, b):
            assert row_a == pytest.approx(row_b, rel=1e-6, abs=1e-7)


def test_a_step_logs_every_loss_term_and_checkpoints(tmp_path):
    run = tmp_path / "run"
    trainer = train(tiny_recipe(tmp_path, run), "steps=3")
    rows = read_metrics(run / "train.csv")
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert all(torch.isfinite(torch.tensor(row[c])) for c in LOSS_COLUMNS)
    # the learning rate decays by gamma once per step
    assert rows[1]["lr"] == pytest.approx(rows[0]["lr"] * trainer.config.optim.gamma, rel=1e-9)
    state = load_state(run)
    assert state["step"] == 3
    assert set(state) >= {"model", "distillers", "discriminator", "optim_g", "optim_d", "sched_g", "sched_d", "ranks"}


def test_the_discriminators_wait_for_start_step(tmp_path):
    run = tmp_path / "run"
    trainer = train(tiny_recipe(tmp_path, run, discriminator__start_step=2), "steps=2")
    rows = read_metrics(run / "train.csv")
    assert all(row[c] == 0 for row in rows for c in ("adversarial", "feature_matching", "discriminator"))
    assert all(row["mel"] > 0 and row["kd_phonetic"] > 0 for row in rows)
    assert not trainer.opt_d.state  # the discriminators' optimiser never stepped during the warm-up
    before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    resumed = train(tiny_recipe(tmp_path, run, discriminator__start_step=2), "steps=3")
    third = read_metrics(run / "train.csv")[-1]
    assert third["adversarial"] > 0 and third["discriminator"] > 0
    after = resumed.discriminator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("streams", [("phonetic",), ("phonetic", "lexical")])
def test_resume_gives_the_uninterrupted_trajectory(tmp_path, streams):
    """Bitwise with the HuBERT-like teacher. With the LaBSE-like one too, equal to 1e-6: that teacher caches word
    embeddings computed in batches of new words, and after a resume those batches (so their padding, so the
    float rounding of the embeddings) differ."""
    whole, split = tmp_path / "whole", tmp_path / "split"
    train(tiny_recipe(tmp_path, whole, streams), "steps=6")
    recipe = tiny_recipe(tmp_path, split, streams)
    train(recipe, "steps=3")
    resumed = train(recipe, "steps=6")  # a new Trainer on the same run_dir picks up state.pt
    assert resumed.step == 6
    assert_same_trajectory(split, whole, exact=streams == ("phonetic",))


def test_eval_hook_writes_metrics_without_changing_training(tmp_path):
    plain, evaluated = tmp_path / "plain", tmp_path / "evaluated"
    train(tiny_recipe(tmp_path, plain), "steps=4")
    train(tiny_recipe(tmp_path, evaluated), "steps=4", "eval_every=2", "eval_batches=1")
    assert losses(plain) == losses(evaluated)
    rows = read_metrics(evaluated / "eval.csv")
    assert [r["step"] for r in rows] == [2, 4]
    assert 0 < rows[0]["usage_acoustic"] <= 1 and rows[0]["mel"] > 0 and rows[0]["level"] >= 0


def test_the_level_term_enters_the_total_with_its_weight(tmp_path):
    # logged whatever its weight (0 by default); loss.level=1 adds exactly the logged level to the first total
    plain, weighted = tmp_path / "plain", tmp_path / "weighted"
    train(tiny_recipe(tmp_path, plain), "steps=1", "log_every=1")
    train(tiny_recipe(tmp_path, weighted), "steps=1", "log_every=1", "loss.level=1.0")
    (first,), (second,) = read_metrics(plain / "train.csv"), read_metrics(weighted / "train.csv")
    assert first["level"] == second["level"] > 0  # an untrained decoder is not at the input's level
    assert second["total"] == pytest.approx(first["total"] + first["level"], rel=1e-5)


@pytest.mark.parametrize("cycle", list(CYCLES))
def test_a_cycle_enters_the_total_with_its_weight_once_the_decoder_trains(tmp_path, cycle):
    plain, cycled = tmp_path / "plain", tmp_path / "cycled"
    train(tiny_recipe(tmp_path, plain, content_steps=1, discriminator__start_step=1), "steps=2", "log_every=1")
    train(tiny_recipe(tmp_path, cycled, content_steps=1, discriminator__start_step=1), "steps=2", "log_every=1", f"loss.{cycle}=0.5")
    (off_0, off_1), (on_0, on_1) = read_metrics(plain / "train.csv"), read_metrics(cycled / "train.csv")
    assert off_0[cycle] == off_1[cycle] == on_0[cycle] == 0  # no decode in step 1
    assert on_0["total"] == off_0["total"]
    assert on_1[cycle] > 0 and on_1["mel"] == off_1["mel"]
    assert all(on_1[other] == 0 for other in CYCLES if other != cycle)  # each is computed only where weighted
    assert on_1["total"] == pytest.approx(off_1["total"] + 0.5 * on_1[cycle], rel=1e-5)


@pytest.mark.parametrize("has_bf16", [True, False])
def test_cpu_amp_follows_the_cpus_instructions(monkeypatch, has_bf16):
    flags = frozenset({"avx512_bf16"} if has_bf16 else {"avx512f"})
    monkeypatch.setattr(runtime_module, "cpu_info", lambda: CpuInfo("a CPU", flags))
    assert start_runtime("cpu", "bf16").amp == ("bf16" if has_bf16 else "none")
    assert start_runtime("cpu", "none").amp == "none"
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        start_runtime("cpu", "fp16")


def test_bf16_autocast_on_cpu_tracks_fp32_and_keeps_fp32_weights(tmp_path):
    """Under autocast the forward passes run in bf16 (emulated where the CPU lacks the instructions, so this runs
    on any machine) while weights, optimiser state and the fp32-pinned losses stay fp32."""
    fp32, bf16 = tmp_path / "fp32", tmp_path / "bf16"
    train(tiny_recipe(tmp_path, fp32), "steps=3", "log_every=1")
    config = TrainConfig.load(tiny_recipe(tmp_path, bf16), ["steps=3", "log_every=1"])
    Trainer(config, Runtime(rank=0, world_size=1, device=torch.device("cpu"), amp="bf16")).fit()
    plain, mixed = losses(fp32), losses(bf16)
    assert plain != mixed  # the forward passes really ran in bf16
    for row_plain, row_mixed in zip(plain, mixed):
        assert row_mixed == pytest.approx(row_plain, rel=0.05, abs=0.02)
    state = load_state(bf16)
    assert all(
        v.dtype == torch.float32
        for part in ("model", "discriminator")
        for v in state[part].values()
        if v.is_floating_point()
    )


@pytest.mark.slow
def test_resume_after_sigkill_is_exact(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    train(tiny_recipe(tmp_path, whole, ("phonetic",)), "steps=6")
    recipe = tiny_recipe(tmp_path, killed, ("phonetic",))
    command = [sys.executable, "-m", "hac_tokenizer.training.cli", "--config", str(recipe), "steps=6"]
    env = dict(os.environ)  # with conftest.py's OMP_NUM_THREADS=1
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (state := _step_of(killed)) is None and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state == 3, "the run should have been killed right after its step-3 checkpoint"
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    assert_same_trajectory(killed, whole, exact=True)


def _step_of(run_dir: Path) -> int | None:
    try:
        state = load_state(run_dir)
    except CheckpointError:  # read while being replaced: try again
        return None
    return None if state is None else state["step"]


def test_the_generator_step_runs_real_audio_without_a_graph_and_loses_nothing(tmp_path):
    # Real audio only gives feature-matching targets, so the generator step runs it through the discriminators
    # apart from the fake, under no_grad: the terms and the gradient they send into the fake must be those of one
    # pass over real and fake together, the paper's way of writing it.
    trainer = Trainer(TrainConfig.load(tiny_recipe(tmp_path, tmp_path / "run")), start_runtime("cpu", "none"))
    batch = next(iter(trainer.loader))
    audio, num_frames = batch.audio, batch.audio.shape[-1] // trainer.student.model.config.hop_length
    out = trainer.student_ddp(audio, trainer.teacher_targets(batch, num_frames), True)
    fake = out.hac.audio.detach().requires_grad_(True)
    terms = trainer.generator_terms(out, audio, fake, adversarial=True)
    (gradient,) = torch.autograd.grad(terms["adversarial"] + terms["feature_matching"], fake)

    real_out, fake_out = split_outputs(trainer.discriminator(torch.cat([audio, fake])), len(audio))
    adversarial = generator_loss(fake_out, trainer.config.discriminator.loss)
    matching = feature_matching_loss(real_out, fake_out)
    (expected,) = torch.autograd.grad(adversarial + matching, fake)
    assert terms["adversarial"].item() == pytest.approx(adversarial.item(), rel=1e-5)
    assert terms["feature_matching"].item() == pytest.approx(matching.item(), rel=1e-5)
    torch.testing.assert_close(gradient, expected, rtol=1e-4, atol=1e-7)
    assert all(p.grad is None for p in trainer.discriminator.parameters())  # the generator step trains no discriminator


DDP_WORKER = textwrap.dedent(
    """
    import sys, torch
    from hac_tokenizer.training.config import TrainConfig
    from hac_tokenizer.training.runtime import start_runtime, stop_runtime
    from hac_tokenizer.training.trainer import Trainer

    config = TrainConfig.load(sys.argv[1], ["steps=2"])
    runtime = start_runtime("cpu", "none")
    trainer = Trainer(config, runtime)
    trainer.fit()
    params = {f"g.{k}": v for k, v in trainer.student.state_dict().items()}
    params |= {f"d.{k}": v for k, v in trainer.discriminator.state_dict().items()}
    torch.save(params, f"{sys.argv[2]}/rank{runtime.rank}.pt")
    stop_runtime(runtime)
    """
)


@pytest.mark.slow
def test_ddp_two_gloo_processes_stay_in_sync(tmp_path):
    run = tmp_path / "run"
    # with the cycles, which run the decoder again and the encoder frozen inside DDP's one forward
    recipe = tiny_recipe(tmp_path, run, **{f"loss__{cycle}": 1.0 for cycle in CYCLES})
    worker = tmp_path / "worker.py"
    worker.write_text(DDP_WORKER)
    env = dict(os.environ)  # with conftest.py's OMP_NUM_THREADS=1
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(worker),
            str(recipe),
            str(tmp_path),
        ],
        cwd=REPO,
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    fresh = Trainer(TrainConfig.load(recipe, [f"run_dir={tmp_path / 'fresh'}"]), start_runtime("cpu", "none"))
    initial = fresh.student.state_dict()
    assert any(not torch.equal(initial[k], rank0[f"g.{k}"]) for k in initial), "two steps should move the weights"
    state = load_state(run)
    assert state["step"] == 2 and len(state["ranks"]) == 2
    rows = read_metrics(run / "train.csv")
    assert [r["step"] for r in rows] == [1, 2] and all(r[cycle] > 0 for r in rows for cycle in CYCLES)


def test_the_hac_14_l16_recipe_starts_with_tiny_teachers(tmp_path):
    """The paper recipe as shipped (optimiser, losses, teacher kinds), shrunk only in size and pointed at local data."""
    teachers = tiny_teachers(tmp_path / "teachers")
    manifest = make_corpus(tmp_path / "corpus")
    run = tmp_path / "run"
    overrides = [
        "model=tiny",
        f"run_dir={run}",
        f"data.train_manifests=[{manifest}]",
        f"data.valid_manifests=[{manifest}]",
        "data.batch_size=2",
        "data.clip_seconds=0.32",
        "data.num_workers=0",
        "discriminator.periods=[2]",
        "discriminator.stft_windows=[256]",
        "discriminator.period_channels=[4, 8]",
        "discriminator.stft_channels=4",
        f"teachers.phonetic.path={teachers['phonetic']['path']}",
        f"teachers.lexical.path={teachers['lexical']['path']}",
        "steps=2",
        "log_every=1",
        "eval_every=2",
        "eval_batches=1",
    ]
    assert main(["--config", "hac-14-l16", *overrides]) == 0
    rows = read_metrics(run / "train.csv")
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[0]["lr"] == pytest.approx(1e-4 * 0.999996)
    assert rows[0]["kd_phonetic"] > 0 and rows[0]["kd_lexical"] > 0
    assert [r["step"] for r in read_metrics(run / "eval.csv")] == [2]
    assert load_state(run)["step"] == 2


def test_content_first_stage_trains_the_content_branches_and_leaves_the_decoder(tmp_path):
    run = tmp_path / "run"
    recipe = tiny_recipe(tmp_path, run, content_steps=2, discriminator__start_step=3)
    torch.manual_seed(0)
    config = TrainConfig.load(recipe, ["steps=2"])
    trainer = Trainer(config, start_runtime(config.device, config.amp))
    model = trainer.student.model
    decoder_before = {k: v.clone() for k, v in model.decoder.state_dict().items()}
    phonetic_before = {k: v.clone() for k, v in model.phonetic.state_dict().items()}
    trainer.fit()
    assert all(torch.equal(decoder_before[k], v) for k, v in model.decoder.state_dict().items())
    assert any(not torch.equal(phonetic_before[k], v) for k, v in model.phonetic.state_dict().items())
    rows = read_metrics(run / "train.csv")
    assert [r["mel"] for r in rows] == [0.0, 0.0] and all(r["kd_phonetic"] > 0 for r in rows)
    train(recipe, "steps=3")  # resumes into the whole model: step 3 decodes
    assert read_metrics(run / "train.csv")[-1]["mel"] > 0
    with pytest.raises(ConfigError, match="content_steps"):
        TrainConfig.load(recipe, ["content_steps=5"])


def test_the_optimisers_are_fused_adamw_with_the_reference_update_and_take_older_states(tmp_path):
    # The trainer's AdamW runs fused (one kernel over every tensor); its update must be PyTorch's per-tensor AdamW
    # to float rounding, and a state saved by the per-tensor optimiser (every run before it) must carry on.
    trainer = Trainer(TrainConfig.load(tiny_recipe(tmp_path, tmp_path / "run")), start_runtime("cpu", "none"))
    module, optimiser = trainer.discriminator, trainer.opt_d
    assert optimiser.defaults["fused"]
    params = list(module.parameters())
    reference_params = [p.detach().clone().requires_grad_(True) for p in params]
    reference = torch.optim.AdamW(
        reference_params, **{k: optimiser.defaults[k] for k in ("lr", "betas", "weight_decay")}
    )
    generator = torch.Generator().manual_seed(0)

    def step_both() -> None:
        for p, q in zip(params, reference_params):
            p.grad = torch.randn(p.shape, generator=generator)
            q.grad = p.grad.clone()
        optimiser.step()
        reference.step()

    def assert_same_parameters() -> None:
        for p, q in zip(params, reference_params):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-7)

    for _ in range(3):
        step_both()
    assert_same_parameters()
    # a checkpoint written before the optimisers were fused (a copy: loading shares tensors with the source)
    optimiser.load_state_dict(copy.deepcopy(reference.state_dict()))
    for p, q in zip(params, reference_params):
        p.data.copy_(q.detach())
    for _ in range(2):
        step_both()
    assert_same_parameters()
    assert optimiser.state[params[0]]["step"].item() == 5


@pytest.fixture
def export(tmp_path) -> Path:
    """The export of a two-step run of the tiny recipe: the checkpoint an ``init`` run starts from."""
    train(tiny_recipe(tmp_path, tmp_path / "source"), "steps=2")
    export_run(tmp_path / "source", tmp_path / "export")
    return tmp_path / "export"


def test_a_run_starts_from_an_exported_checkpoint_at_its_step_and_holds_it_while_the_new_parts_learn(tmp_path, export):
    run = tmp_path / "run"
    recipe = tiny_recipe(tmp_path, run)
    init = [f"init.checkpoint={export}", "init.step=10", "init.hold_steps=2"]
    trainer = Trainer(TrainConfig.load(recipe, [*init, "steps=12"]), start_runtime("cpu", "none"))
    exported = load_checkpoint(export).state_dict()
    model = trainer.student.model
    assert trainer.step == 10 and all(torch.equal(exported[k], v) for k, v in model.state_dict().items())
    new_parts = {"distillers": trainer.student.distillers, "discriminator": trainer.discriminator}
    before = {name: copy.deepcopy(part.state_dict()) for name, part in new_parts.items()}
    trainer.fit()
    rows = read_metrics(run / "train.csv")
    assert [r["step"] for r in rows] == [11, 12]  # the schedule goes on from step 10: the decay too
    assert rows[0]["lr"] == pytest.approx(trainer.config.optim.lr * trainer.config.optim.gamma**11, rel=1e-9)
    # the held steps trained the KD projections and the discriminators, and left the loaded model as it was
    assert all(torch.equal(exported[k], v) for k, v in model.state_dict().items())
    for name, part in new_parts.items():
        assert any(not torch.equal(before[name][k], v) for k, v in part.state_dict().items()), name
    # a run with a training state resumes from it (step 12, not init.step) and, past the hold, trains the model
    resumed = train(recipe, *init, "steps=13")
    assert [r["step"] for r in read_metrics(run / "train.csv")] == [11, 12, 13]
    assert any(not torch.equal(exported[k], v) for k, v in resumed.student.model.state_dict().items())


def test_a_resume_without_the_init_arguments_keeps_the_runs_own_init_and_hold(tmp_path, export):
    """A crash inside the hold, resumed with the plain command: the loaded weights must stay held to its end."""
    run = tmp_path / "run"
    recipe = tiny_recipe(tmp_path, run)
    train(recipe, f"init.checkpoint={export}", "init.step=10", "init.hold_steps=3", "steps=11")
    resumed = train(recipe, "steps=13")  # no init arguments: steps 12 and 13 are still inside the hold (10 + 3)
    exported = load_checkpoint(export).state_dict()
    assert all(torch.equal(exported[k], v) for k, v in resumed.student.model.state_dict().items())
    saved = TrainConfig.load(run / "config.yaml")
    assert (saved.init.checkpoint, saved.init.step, saved.init.hold_steps) == (str(export), 10, 3)
    trained = train(recipe, "steps=14")  # past the hold the model trains
    assert any(not torch.equal(exported[k], v) for k, v in trained.student.model.state_dict().items())


def test_init_refuses_a_checkpoint_of_another_architecture_and_a_schedule_without_weights(tmp_path):
    recipe = tiny_recipe(tmp_path, tmp_path / "run")
    config = TrainConfig.load(recipe, ["init.checkpoint=hac-mls8-small"])  # the bundled default, by name
    with pytest.raises(ConfigError, match="differs from the recipe"):
        Trainer(config, start_runtime("cpu", "none"))
    with pytest.raises(ConfigError, match="need init.checkpoint"):
        TrainConfig.load(recipe, ["init.hold_steps=5"])
    with pytest.raises(ConfigError, match=">= 0"):
        TrainConfig.load(recipe, [f"init.checkpoint={tmp_path}", "init.step=-1"])
