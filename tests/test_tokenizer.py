import numpy as np
import pytest
import torch
from signals import chirp

from hac_tokenizer import PAD_ID, HACTokenizer
from hac_tokenizer.errors import AudioInputError, TokenError

STREAMS = ("lexical", "phonetic", "acoustic")
LENGTHS = (5000, 320, 1, 16000, 641)


def test_shapes_and_dtypes(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(chirp(16000))
    assert tokens.lexical.shape == tokens.phonetic.shape == (1, 50)
    assert tokens.acoustic.shape == (1, 2, 50)
    assert all(t.dtype == torch.long for t in tokens.streams().values())
    assert tokens.lengths.tolist() == [50] and tokens.sample_lengths.tolist() == [16000]


def test_ragged_batch_equals_single_items_exactly(tiny_tokenizer):
    items = [chirp(n, seed=i) for i, n in enumerate(LENGTHS)]
    batch = tiny_tokenizer.encode(items)
    assert batch.lengths.tolist() == [-(-n // 320) for n in LENGTHS]
    for i, item in enumerate(items):
        single = tiny_tokenizer.encode(item)
        for name in STREAMS:
            got = getattr(batch, name)[i, ..., : batch.lengths[i]]
            assert torch.equal(got, getattr(single, name)[0]), (i, name)


def test_padding_is_never_a_token(tiny_tokenizer):
    batch = tiny_tokenizer.encode([chirp(n) for n in LENGTHS])
    for name in STREAMS:
        t = getattr(batch, name)
        mask = batch.mask if t.dim() == 2 else batch.mask[:, None].expand_as(t)
        assert (t[~mask] == PAD_ID).all() and (t[mask] >= 0).all()


def test_batched_decode_equals_single_decode(tiny_tokenizer):
    items = [chirp(n, seed=i) for i, n in enumerate(LENGTHS)]
    audio = tiny_tokenizer.decode(tiny_tokenizer.encode(items))
    assert audio.lengths.tolist() == list(LENGTHS)
    for i, item in enumerate(items):
        single = tiny_tokenizer.decode(tiny_tokenizer.encode(item)).waveform[0]
        assert single.shape == (len(item),)
        torch.testing.assert_close(audio.waveform[i, : len(item)], single, atol=1e-5, rtol=0)
        assert audio.waveform[i, len(item):].abs().max() == 0 if len(item) < audio.waveform.shape[1] else True


@pytest.mark.parametrize("subset", [("lexical",), ("phonetic",), ("acoustic",), ("lexical", "phonetic")])
def test_stream_subset_equals_full_encode(tiny_tokenizer, subset):
    items = [chirp(n) for n in (3000, 7000)]
    full = tiny_tokenizer.encode(items)
    part = tiny_tokenizer.encode(items, streams=subset)
    for name in STREAMS:
        if name in subset:
            assert torch.equal(getattr(part, name), getattr(full, name))
        else:
            assert getattr(part, name) is None


def test_content_streams_skip_the_rvq_and_decoder(tiny_tokenizer, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("should not run")

    monkeypatch.setattr(tiny_tokenizer.model.acoustic, "encode", forbidden)
    monkeypatch.setattr(tiny_tokenizer.model.decoder, "forward", forbidden)
    tiny_tokenizer.encode(chirp(3200), streams=("lexical", "phonetic"))


def test_input_forms_agree(tiny_tokenizer):
    wav = chirp(4800)
    reference = tiny_tokenizer.encode(wav).acoustic
    forms = [wav[None], wav[None, None], wav.numpy(), [wav], [wav.numpy()], wav.double(), torch.stack([wav, wav])[None]]
    for form in forms:
        assert torch.equal(tiny_tokenizer.encode(form).acoustic[:1], reference)


def test_int16_pcm_is_scaled(tiny_tokenizer):
    wav = chirp(4800)
    pcm = (wav * 32768).round().clamp(-32768, 32767).short()
    assert torch.equal(tiny_tokenizer.encode(pcm).phonetic, tiny_tokenizer.encode(pcm.float() / 32768).phonetic)


def test_resampling_to_16k(tiny_tokenizer):
    wav44 = chirp(44100, sample_rate=44100)
    tokens = tiny_tokenizer.encode(wav44, sample_rate=44100)
    assert tokens.sample_lengths.tolist() == [16000] and tokens.lengths.tolist() == [50]


def test_stereo_is_downmixed(tiny_tokenizer):
    left, right = chirp(3200, seed=1), chirp(3200, seed=2)
    stereo = tiny_tokenizer.encode(torch.stack([left, right])[None])
    mono = tiny_tokenizer.encode((left + right) / 2)
    assert torch.equal(stereo.acoustic, mono.acoustic)


def test_file_paths(tiny_tokenizer, tmp_path):
    from hac_tokenizer.audio import save_audio

    save_audio(tmp_path / "a.wav", chirp(8000), 16000)
    save_audio(tmp_path / "b.flac", chirp(24000, sample_rate=24000), 24000)
    tokens = tiny_tokenizer.encode([tmp_path / "a.wav", str(tmp_path / "b.flac")])
    assert tokens.sample_lengths.tolist() == [8000, 16000]


def test_decode_rejects_foreign_tokens(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(chirp(3200))
    tokens.vocab_sizes = {"acoustic": 1024, "lexical": 16384, "phonetic": 16384}
    with pytest.raises(TokenError, match="Decode with the model that encoded them"):
        tiny_tokenizer.decode(tokens)


def test_decode_rejects_out_of_range_ids(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(chirp(3200))
    tokens.phonetic[0, 3] = 10_000
    with pytest.raises(TokenError, match="phonetic token ids must lie in"):
        tiny_tokenizer.decode(tokens)


def test_unknown_stream_is_refused(tiny_tokenizer):
    with pytest.raises(AudioInputError, match="subset"):
        tiny_tokenizer.encode(chirp(320), streams=("semantic",))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_keeps_quantizers_fp32(dtype):
    torch.manual_seed(0)
    from hac_tokenizer.config import tiny_config

    tok = HACTokenizer.from_config(tiny_config())
    fp32 = tok.encode(chirp(16000))
    tok.to(dtype=dtype)
    assert tok.dtype == dtype and tok.model.acoustic.layers[0].codebook.weight.dtype == torch.float32
    low = tok.encode(chirp(16000))
    agreement = (low.acoustic == fp32.acoustic).float().mean().item()
    assert agreement > 0.8  # random weights sit near ties; trained models are reported in benchmarks
    audio = tok.decode(low)
    assert audio.waveform.dtype == torch.float32 and torch.isfinite(audio.waveform).all()


def test_from_config_full_size_builds():
    from hac_tokenizer import HACConfig

    tok = HACTokenizer.from_config(HACConfig.preset("hac-14-l16"))
    assert 148e6 < tok.num_parameters() < 148.2e6
    assert "4900 bps" in repr(tok)


def test_available_models_marks_the_bundled_default():
    models = HACTokenizer.available_models()
    assert "hac-14-l16" in models and "hac-14-en" in models
    assert sum("[bundled default]" in d for d in models.values()) == 1


def test_numpy_float64_input(tiny_tokenizer):
    wav = chirp(3200).numpy().astype(np.float64)
    assert tiny_tokenizer.encode(wav).lengths.tolist() == [10]
