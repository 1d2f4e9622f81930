import torch

from hac_tokenizer.quantization import FactorizedVQ, ResidualVQ


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
