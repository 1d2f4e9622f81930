"""Codebook usage/perplexity statistics and dead-code replacement on a collapsed codebook."""

from __future__ import annotations

import pytest
import torch

from hac_tokenizer.quantization import FactorizedVQ
from hac_tokenizer.training.codebook import CodebookMonitor, replace_dead_codes
from hac_tokenizer.training.errors import CodebookError


def test_uniform_codes_use_the_whole_codebook():
    monitor = CodebookMonitor(16)
    monitor.update(torch.arange(16).repeat(4, 2))  # [B=4, T=32], every code equally often
    assert monitor.usage() == pytest.approx(1.0)
    assert monitor.perplexity() == pytest.approx(16.0)
    assert not monitor.dead_codes().any()


def test_collapsed_codes_have_perplexity_one():
    monitor = CodebookMonitor(16)
    monitor.update(torch.full((2, 10), 3))
    assert monitor.perplexity() == pytest.approx(1.0)
    assert monitor.usage() == pytest.approx(1 / 16)
    assert monitor.dead_codes()[0].nonzero().flatten().tolist() == [c for c in range(16) if c != 3]


def test_two_equally_used_codes_have_perplexity_two_and_masked_frames_do_not_count():
    monitor = CodebookMonitor(8)
    codes = torch.tensor([[0, 1, 0, 1, 5, 5]])
    mask = torch.tensor([[True, True, True, True, False, False]])
    monitor.update(codes, mask)
    assert monitor.perplexity() == pytest.approx(2.0)
    assert monitor.usage() == pytest.approx(2 / 8)


def test_rvq_codes_are_tracked_per_layer():
    monitor = CodebookMonitor(4, num_codebooks=2)
    codes = torch.stack([torch.arange(4).repeat(1, 3), torch.zeros(1, 12, dtype=torch.long)], dim=1)  # [1, 2, 12]
    monitor.update(codes)
    torch.testing.assert_close(monitor.layer_perplexity(), torch.tensor([4.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(monitor.layer_usage(), torch.tensor([1.0, 0.25], dtype=torch.float64))
    assert monitor.usage() == pytest.approx(0.625)
    with pytest.raises(CodebookError):
        monitor.update(torch.zeros(1, 12, dtype=torch.long))


def test_a_code_that_stops_being_used_dies_and_comes_back():
    monitor = CodebookMonitor(4, decay=0.9)
    for _ in range(3):
        monitor.update(torch.tensor([[0, 1, 2, 3]]))
    for _ in range(60):
        monitor.update(torch.tensor([[0, 1, 2, 2]]))  # code 3 unused for ~6 EMA windows
    assert monitor.dead_codes()[0].tolist() == [False, False, False, True]
    restored = CodebookMonitor(4, decay=0.9)
    restored.load_state_dict(monitor.state_dict())
    torch.testing.assert_close(restored.counts(), monitor.counts())
    assert restored.steps == monitor.steps


def test_revived_codes_count_as_alive_until_the_window_judges_them_again():
    monitor = CodebookMonitor(4, decay=0.9)
    for _ in range(30):
        monitor.update(torch.tensor([[0, 0, 1, 1]]))
    dead = monitor.dead_codes()
    assert dead[0].tolist() == [False, False, True, True]
    monitor.revive(dead)
    assert not monitor.dead_codes().any()
    for _ in range(60):
        monitor.update(torch.tensor([[0, 0, 1, 1]]))
    assert monitor.dead_codes()[0].tolist() == [False, False, True, True]


def test_nothing_is_dead_before_any_update():
    assert not CodebookMonitor(8).dead_codes().any()


def test_replacing_dead_codes_revives_a_collapsed_codebook():
    torch.manual_seed(0)
    vq = FactorizedVQ(dim=16, codebook_size=32, codebook_dim=4)
    with torch.no_grad():
        vq.codebook.weight.copy_(torch.randn(1, 4).expand(32, 4) + 1e-3 * torch.randn(32, 4))
        vq.codebook.weight[1:] *= -1  # all but code 0 point away from the latents' mean direction
    z = torch.randn(4, 16, 50) + 2 * torch.randn(1, 16, 1)
    out = vq(z)
    monitor = CodebookMonitor(32)
    monitor.update(out.codes)
    usage_before = monitor.usage()
    replaced = replace_dead_codes(vq, out.latent, monitor.dead_codes()[0], torch.Generator().manual_seed(0))
    assert replaced == int(monitor.dead_codes()[0].sum()) > 0
    after = CodebookMonitor(32)
    after.update(vq(z).codes)
    assert after.usage() > usage_before + 0.5
    assert after.perplexity() > 4 * monitor.perplexity()


def test_replacement_draws_from_valid_frames_only_and_skips_when_nothing_is_dead():
    vq = FactorizedVQ(dim=8, codebook_size=4, codebook_dim=2)
    latents = torch.zeros(1, 2, 6)
    latents[..., :3] = 5.0
    mask = torch.tensor([[True, True, True, False, False, False]])
    dead = torch.tensor([True, False, True, False])
    assert replace_dead_codes(vq, latents, dead, torch.Generator().manual_seed(0), mask) == 2
    assert (vq.codebook.weight[[0, 2]] == 5.0).all()
    before = vq.codebook.weight.clone()
    assert replace_dead_codes(vq, latents, torch.zeros(4, dtype=torch.bool), torch.Generator()) == 0
    torch.testing.assert_close(vq.codebook.weight, before)
