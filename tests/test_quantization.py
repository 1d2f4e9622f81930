import pytest
import torch

from hac_tokenizer.config import StreamConfig, TransformerConfig
from hac_tokenizer.errors import TokenError
from hac_tokenizer.nn.layers import length_mask
from hac_tokenizer.quantization import FactorizedVQ, ResidualVQ, SplitQuantizer, TokenStream


def test_nearest_code_is_cosine_argmax():
    torch.manual_seed(0)
    vq = FactorizedVQ(dim=16, codebook_size=64, codebook_dim=4)
    latent = torch.randn(2, 4, 10)
    codes = vq.nearest(latent)
    lat = torch.nn.functional.normalize(latent.transpose(1, 2), dim=-1)
    book = torch.nn.functional.normalize(vq.codebook.weight, dim=-1)
    brute = torch.cdist(lat, book[None].expand(2, -1, -1)).argmin(-1)
    assert torch.equal(codes, brute)


def test_code_vectors_quantize_to_themselves():
    torch.manual_seed(0)
    vq = FactorizedVQ(dim=16, codebook_size=32, codebook_dim=4)
    codes = torch.randint(0, 32, (3, 7))
    assert torch.equal(vq.nearest(vq.lookup(codes)), codes)


def test_rvq_decode_equals_sum_of_layer_decodes():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=16, layers=3, codebook_size=32, codebook_dim=4)
    z = torch.randn(2, 16, 9)
    codes = rvq.encode(z)
    assert codes.shape == (2, 3, 9)
    expected = sum(layer.decode(codes[:, i]) for i, layer in enumerate(rvq.layers))
    torch.testing.assert_close(rvq.decode(codes), expected)


def test_rvq_fewer_layers_is_a_prefix():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, layers=4, codebook_size=64, codebook_dim=4)
    z = torch.randn(1, 8, 50)
    assert torch.equal(rvq.encode(z, 2), rvq.encode(z)[:, :2])


def test_training_path_matches_inference_codes_and_has_gradients():
    torch.manual_seed(0)
    rvq = ResidualVQ(dim=16, layers=2, codebook_size=32, codebook_dim=4)
    z = torch.randn(2, 16, 5, requires_grad=True)
    out = rvq(z)
    assert torch.equal(out.codes, rvq.encode(z.detach()))
    (out.quantized.sum() + out.commitment_loss + out.codebook_loss).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert rvq.layers[0].codebook.weight.grad.abs().sum() > 0


# -- the split quantizer: three streams behind one encode / embed / decode ----------------------------
def split_quantizer(residual: bool) -> SplitQuantizer:
    torch.manual_seed(0)
    transformer = TransformerConfig(layers=1, heads=2, width=8, ffn=16, pos_conv_kernel=4, pos_conv_groups=2)
    content = {
        "lexical": TokenStream(16, StreamConfig(codebook_size=32, codebook_dim=4, transformer=transformer)).eval(),
        "phonetic": TokenStream(16, StreamConfig(codebook_size=16, codebook_dim=4, transformer=None)).eval(),
    }
    return SplitQuantizer(content, ResidualVQ(dim=16, layers=3, codebook_size=32, codebook_dim=4), residual)


@pytest.mark.parametrize("residual", [False, True])
@torch.no_grad()
def test_split_encode_of_a_subset_equals_the_full_encode(residual):
    quantizer = split_quantizer(residual)
    z, mask = torch.randn(2, 16, 9), length_mask(torch.tensor([9, 6]), 9)
    full = quantizer.encode(z, mask, quantizer.streams)
    assert list(full) == ["lexical", "phonetic", "acoustic"] and full["acoustic"].shape == (2, 3, 9)
    for subset in (("lexical",), ("phonetic",), ("acoustic",), ("lexical", "acoustic")):
        part = quantizer.encode(z, mask, subset)
        assert list(part) == list(subset) and all(torch.equal(part[name], full[name]) for name in subset)
    content = {name: full[name] for name in ("lexical", "phonetic")}
    acoustic_in = z - quantizer.embed(content) if residual else z  # the paper's RVQ(Z), or what the content leaves
    assert torch.equal(quantizer.acoustic.encode(acoustic_in), full["acoustic"])
    quantized = quantizer.quantize(z, mask)  # the training path picks the same codes
    assert list(quantized) == list(full) and all(torch.equal(quantized[n].codes, full[n]) for n in full)


@torch.no_grad()
def test_split_embed_sums_any_subset_and_decode_needs_all():
    quantizer = split_quantizer(residual=False)
    codes = quantizer.encode(torch.randn(2, 16, 7), None, quantizer.streams)
    alone = {name: quantizer.embed({name: c}) for name, c in codes.items()}
    assert torch.allclose(alone["lexical"], quantizer.content["lexical"].vq.decode(codes["lexical"]))
    assert torch.allclose(alone["acoustic"], quantizer.acoustic.decode(codes["acoustic"]))
    torch.testing.assert_close(quantizer.embed({"lexical": codes["lexical"], "acoustic": codes["acoustic"]}),
                               alone["lexical"] + alone["acoustic"])
    assert torch.equal(quantizer.decode(codes), quantizer.embed(codes))
    coarse = quantizer.embed({"acoustic": codes["acoustic"][:, :1]})  # fewer RVQ layers: a prefix of them
    torch.testing.assert_close(coarse, quantizer.acoustic.layers[0].decode(codes["acoustic"][:, 0]))
    with pytest.raises(TokenError, match="every stream"):
        quantizer.decode({"acoustic": codes["acoustic"]})
    with pytest.raises(TokenError, match="non-empty subset"):
        quantizer.embed({})
    with pytest.raises(TokenError, match="non-empty subset"):
        quantizer.embed({"semantic": codes["lexical"]})


@torch.no_grad()
def test_split_acoustic_mean_ignores_masked_frames():
    quantizer = split_quantizer(residual=False)
    codes = torch.randint(0, 32, (2, 3, 6))
    codes[1, :, 4:] = -1  # padding ids
    mean = quantizer.acoustic_mean(codes, length_mask(torch.tensor([6, 4]), 6)[:, 0])
    torch.testing.assert_close(mean[0], quantizer.acoustic.decode(codes[:1])[0].mean(-1))
    torch.testing.assert_close(mean[1], quantizer.acoustic.decode(codes[1:, :, :4])[0].mean(-1))
