"""The content cycle losses: the voices, the soft code choice, masking, and where their gradient goes."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange

from hac_tokenizer.config import tiny_frame_config
from hac_tokenizer.model import HACModel
from hac_tokenizer.nn.layers import padding_mask
from hac_tokenizer.quantization.vq import FactorizedVQ
from hac_tokenizer.training.config import LossWeights
from hac_tokenizer.training.cycle import CYCLES, TEMPERATURE, content_cycle_losses, token_cross_entropy, voices


def _model() -> HACModel:
    torch.manual_seed(0)
    return HACModel(tiny_frame_config())


def content_cycle_loss(model: HACModel, quantized: dict, frame_mask: torch.Tensor | None) -> torch.Tensor:
    return content_cycle_losses(model, quantized, frame_mask, ["content_cycle"])["content_cycle"]


def test_each_item_keeps_its_content_and_takes_the_previous_items_acoustic_or_its_own():
    model = _model()
    _, quantized = model.quantize(torch.randn(3, 1, 8 * model.config.hop_length))
    content = quantized["phonetic"].quantized + quantized["lexical"].quantized
    acoustic = quantized["acoustic"].quantized
    for i, source in enumerate([2, 0, 1]):
        torch.testing.assert_close(voices(quantized, CYCLES["content_cycle"].shift)[i], content[i] + acoustic[source])
    torch.testing.assert_close(voices(quantized, CYCLES["reconstruction_cycle"].shift), content + acoustic)


def test_all_cycles_in_one_batch_equal_each_alone():
    model = _model().eval()
    hop = model.config.hop_length
    audio = torch.randn(3, 1, 12 * hop)
    audio[2, :, 9 * hop :] = 0
    frame_mask = padding_mask(torch.tensor([12, 12, 9]), 12)
    _, quantized = model.quantize(audio, frame_mask)
    both = content_cycle_losses(model, quantized, frame_mask, list(CYCLES))
    assert set(both) == set(CYCLES) and len({value.item() for value in both.values()}) == len(CYCLES)
    for name in CYCLES:
        torch.testing.assert_close(both[name], content_cycle_losses(model, quantized, frame_mask, [name])[name])
    assert content_cycle_losses(model, quantized, frame_mask, []) == {}


def test_token_cross_entropy_is_the_softmax_over_cosines_to_the_codebook():
    vq = FactorizedVQ(8, codebook_size=5, codebook_dim=3)
    latent, codes = torch.randn(2, 3, 4), torch.randint(0, 5, (2, 4))
    cosines = F.cosine_similarity(rearrange(latent, "b d t -> b t 1 d"), vq.codebook.weight[None, None], dim=-1)
    expected = F.cross_entropy(rearrange(cosines / TEMPERATURE, "b t k -> (b t) k"), codes.flatten())
    torch.testing.assert_close(token_cross_entropy(vq, latent, codes, None), expected)


def test_masked_frames_count_for_nothing_and_the_codebook_gets_no_gradient():
    vq = FactorizedVQ(8, codebook_size=5, codebook_dim=3)
    latent = torch.randn(2, 3, 4, requires_grad=True)
    codes = torch.randint(0, 5, (2, 4))
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    loss = token_cross_entropy(vq, latent, codes, mask)
    changed = latent.detach().clone()
    changed[0, :, 3] = torch.randn(3)
    changed[1, :, 1:] = torch.randn(3, 3)
    torch.testing.assert_close(token_cross_entropy(vq, changed, codes, mask), loss)
    loss.backward()
    assert vq.codebook.weight.grad is None
    assert latent.grad[0, :, 3].abs().sum() == 0 and latent.grad[0, :, :3].abs().sum() > 0


@pytest.mark.parametrize("cycle", list(CYCLES))
def test_only_the_decoder_learns_from_it(cycle):
    model = _model()
    _, quantized = model.quantize(torch.randn(4, 1, 12 * model.config.hop_length))
    content_cycle_losses(model, quantized, None, [cycle])[cycle].backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    decoder = {name for name, _ in model.named_parameters() if name.startswith("decoder.")}
    assert trained == decoder
    assert all(p.requires_grad for p in model.parameters())  # the re-encoding's freeze is undone


def test_frames_where_an_item_or_its_voice_reference_is_padding_do_not_count():
    model = _model().eval()
    hop = model.config.hop_length
    audio = torch.randn(2, 1, 12 * hop)
    audio[1, :, 7 * hop :] = 0
    frame_mask = padding_mask(torch.tensor([12, 7]), 12)  # [B, 1, T]
    _, quantized = model.quantize(audio, frame_mask)
    loss = content_cycle_loss(model, quantized, frame_mask)
    for q in quantized.values():  # item 1's padding: its own frames there, and item 0's voice reference there
        q.quantized[1, :, 7:] = torch.randn_like(q.quantized[1, :, 7:])
    torch.testing.assert_close(content_cycle_loss(model, quantized, frame_mask), loss)


@pytest.mark.parametrize("name", list(CYCLES))
def test_minimising_it_brings_the_codes_back_from_the_decodes(name):
    model = _model()
    audio = torch.randn(4, 1, 12 * model.config.hop_length)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)

    def cycle() -> torch.Tensor:
        return content_cycle_losses(model, model.quantize(audio)[1], None, [name])[name]

    first = cycle().item()
    for _ in range(30):
        optimiser.zero_grad()
        cycle().backward()
        optimiser.step()
    assert cycle().item() < 0.5 * first


def test_every_cycle_is_a_loss_weight():
    weights = {f.name for f in dataclasses.fields(LossWeights)}
    assert set(CYCLES) <= weights and {name for name in weights if name.endswith("_cycle")} == set(CYCLES)


def test_the_voice_cycle_reads_the_voice_references_acoustic_codes_and_training_on_it_brings_them_back():
    model = _model()
    audio = torch.randn(4, 1, 12 * model.config.hop_length)
    _, quantized = model.quantize(audio)
    cycles = ["content_cycle", "voice_cycle"]
    before = content_cycle_losses(model, quantized, None, cycles)
    other = dict(quantized)  # the same decodes, but other acoustic codes to check against
    other["acoustic"] = dataclasses.replace(quantized["acoustic"], codes=quantized["acoustic"].codes.flip(-1))
    after = content_cycle_losses(model, other, None, cycles)
    torch.testing.assert_close(after["content_cycle"], before["content_cycle"])
    assert after["voice_cycle"] != before["voice_cycle"]

    def agreement() -> tuple[float, float]:
        """Shares of the conversions' re-encoded acoustic codes equal to the voice's and to the item's own."""
        with torch.no_grad():
            _, quantized = model.quantize(audio)
            converted = model.decode(voices(quantized, CYCLES["voice_cycle"].shift), None)
            codes = model.encode(converted, None, ("acoustic",))["acoustic"]
        own = quantized["acoustic"].codes
        return (codes == own.roll(1, dims=0)).float().mean().item(), (codes == own).float().mean().item()

    optimiser = torch.optim.Adam(model.decoder.parameters(), lr=1e-2)
    first = agreement()
    for _ in range(30):
        optimiser.zero_grad()
        content_cycle_losses(model, model.quantize(audio)[1], None, ["voice_cycle"])["voice_cycle"].backward()
        optimiser.step()
    to_voice, to_own = agreement()
    assert to_voice > first[0] + 0.1 and to_voice > to_own
