"""Codebook upkeep in training: every quantizer is monitored, dead codes move onto batch latents."""

from __future__ import annotations

import torch
from einops import rearrange

from hac_tokenizer.config import tiny_config
from hac_tokenizer.model import HACModel
from hac_tokenizer.training.codebook_upkeep import CodebookUpkeep
from hac_tokenizer.training.config import CodebookConfig
from hac_tokenizer.training.runtime import Runtime

CPU = Runtime(rank=0, world_size=1, device=torch.device("cpu"), amp="none")


def forward(model: HACModel):
    torch.manual_seed(0)
    return model(0.1 * torch.randn(2, 1, 3200)).quantized


def test_metrics_cover_every_stream_and_dead_codes_are_reseeded_from_latents():
    torch.manual_seed(0)
    model = HACModel(tiny_config())
    upkeep = CodebookUpkeep(model, CodebookConfig(usage_window=10, dead_ratio=0.5, replace_every=1), seed=0)
    quantized = forward(model)
    upkeep.observe(quantized)
    metrics = upkeep.metrics()
    assert set(metrics) == {f"{k}_{s}" for k in ("usage", "perplexity") for s in ("acoustic", "phonetic", "lexical")}
    assert all(0 < metrics[f"usage_{s}"] < 1 for s in ("acoustic", "phonetic", "lexical"))  # 20 frames, 32 codes
    dead = upkeep.monitors["phonetic"].dead_codes()[0]
    assert upkeep.due(1) and upkeep.replace(quantized, CPU) > 0
    rows = model.phonetic.vq.codebook.weight[dead]  # [n_dead, d]
    latents = rearrange(quantized["phonetic"].latent, "b d t -> (b t) d")
    assert all(torch.isclose(latents, row).all(dim=1).any() for row in rows)


def test_replacement_is_off_by_default_and_state_round_trips():
    model = HACModel(tiny_config())
    upkeep = CodebookUpkeep(model, CodebookConfig(), seed=0)
    assert not upkeep.due(500)
    upkeep.observe(forward(model))
    again = CodebookUpkeep(model, CodebookConfig(), seed=1)
    again.load_state_dict(upkeep.state_dict())
    assert again.metrics() == upkeep.metrics()
    assert torch.equal(again.generator.get_state(), upkeep.generator.get_state())


def test_a_reseeded_code_is_credited_alive_picked_again_and_never_seeded_from_padding():
    torch.manual_seed(0)
    model = HACModel(tiny_config())
    upkeep = CodebookUpkeep(model, CodebookConfig(usage_window=50, dead_ratio=0.5, replace_every=1), seed=0)
    audio = 0.1 * torch.randn(2, 1, 3200)
    audio[1, :, 1600:] = 0.0  # item 1: half padding
    frame_mask = torch.arange(10)[None, :] < torch.tensor([[10], [5]])
    quantized = model(audio).quantized
    upkeep.observe(quantized, frame_mask)
    dead = upkeep.monitors["phonetic"].dead_codes()[0]
    assert dead.any()
    upkeep.replace(quantized, CPU, frame_mask)
    assert not upkeep.monitors["phonetic"].dead_codes()[0][dead].any()  # revived: not replaced again at once
    valid = rearrange(quantized["phonetic"].latent[:, :, :], "b d t -> (b t) d")[rearrange(frame_mask, "b t -> (b t)")]
    rows = model.phonetic.vq.codebook.weight[dead]
    assert all(torch.isclose(valid, row).all(dim=1).any() for row in rows)  # every seed is a real frame
    with torch.no_grad():  # the re-seeded codes sit on real latents, so the same batch now picks some of them
        codes = model.phonetic.vq.nearest(quantized["phonetic"].latent)
    assert dead[codes[frame_mask]].any()
