"""Voice conversion: length fits, swap_acoustic token surgery, convert_voice, acoustic_mean, the CLI."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from signals import chirp
from token_factory import assert_same, random_tokens

from hac_tokenizer import PAD_ID
from hac_tokenizer.audio import load_audio, save_audio
from hac_tokenizer.cli import main
from hac_tokenizer.errors import TokenError
from hac_tokenizer.voice import acoustic_mean, fit_voice_frames, loop_frames, stretch_frames, swap_acoustic


# -- length fits --------------------------------------------------------------------------------
def test_loop_pads_circularly_and_crops():
    assert loop_frames(3, 8).tolist() == [0, 1, 2, 0, 1, 2, 0, 1]  # shorter reference: circular padding
    assert loop_frames(10, 4).tolist() == [0, 1, 2, 3]  # longer reference: its first frames
    assert loop_frames(5, 5).tolist() == [0, 1, 2, 3, 4]


def test_stretch_spreads_the_whole_reference():
    assert stretch_frames(10, 5).tolist() == [1, 3, 5, 7, 9]  # longer: every other frame, end to end
    assert stretch_frames(2, 6).tolist() == [0, 0, 0, 1, 1, 1]  # shorter: each frame held
    assert stretch_frames(7, 7).tolist() == list(range(7))


def test_fit_is_per_item_and_broadcasts_one_voice():
    voice = random_tokens([3])
    index = fit_voice_frames(voice, torch.tensor([5, 2]), "loop")
    assert index.tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 0, 0]]  # past lengths[b]: 0, masked later
    with pytest.raises(TokenError, match="must return 4 indices"):
        fit_voice_frames(voice, torch.tensor([4]), lambda available, needed: torch.arange(needed) + 1)
    with pytest.raises(TokenError, match="unknown length fit"):
        fit_voice_frames(voice, torch.tensor([4]), "warp")


# -- swap_acoustic ------------------------------------------------------------------------------
def test_swap_keeps_content_bit_identical_and_takes_looped_voice():
    content, voice = random_tokens([6, 2, 4], seed=1), random_tokens([4, 9, 4], seed=2)
    out = swap_acoustic(content, voice)
    for name in ("lexical", "phonetic", "lengths", "sample_lengths"):
        assert torch.equal(getattr(out, name), getattr(content, name)), name
    assert (out.model, out.vocab_sizes) == (content.model, content.vocab_sizes)
    assert torch.equal(out.acoustic[0], voice.acoustic[0][:, [0, 1, 2, 3, 0, 1]])  # shorter voice: looped
    assert torch.equal(out.acoustic[1, :, :2], voice.acoustic[1, :, :2])  # longer voice: cropped
    assert (out.acoustic[1, :, 2:] == PAD_ID).all()
    assert torch.equal(out.acoustic[2, :, :4], voice.acoustic[2, :, :4])  # same length: unchanged


def test_layer_selection_keeps_the_other_layers_of_the_source():
    content, voice = random_tokens([5, 3], seed=3), random_tokens([5, 3], seed=4)
    out = swap_acoustic(content, voice, layers=[1])
    assert torch.equal(out.acoustic[:, 0], content.acoustic[:, 0])
    assert torch.equal(out.acoustic[:, 1], voice.acoustic[:, 1])
    assert torch.equal(swap_acoustic(content, voice, layers=[0, 1]).acoustic, voice.acoustic)
    with pytest.raises(TokenError, match="layer indices"):
        swap_acoustic(content, voice, layers=[2])
    with pytest.raises(TokenError, match="layer indices"):
        swap_acoustic(content, voice, layers=[])


def test_one_voice_for_the_batch_equals_per_item_swaps():
    content, voice = random_tokens([7, 3, 5], seed=5), random_tokens([4], seed=6)
    batched = swap_acoustic(content, voice, fit="stretch").unbatch()
    for item, out in zip(content.unbatch(), batched):
        assert_same(out, swap_acoustic(item, voice, fit="stretch"))


def test_swap_refuses_what_it_cannot_do():
    content, voice = random_tokens([4, 4]), random_tokens([4, 4, 4])
    with pytest.raises(TokenError, match="3 voices for 2 sources"):
        swap_acoustic(content, voice)
    with pytest.raises(TokenError, match="no acoustic"):
        swap_acoustic(content, dataclasses.replace(voice, acoustic=None))
    content_only = dataclasses.replace(content, acoustic=None)
    assert swap_acoustic(content_only, voice[0]).acoustic.shape == (2, 2, 4)
    with pytest.raises(TokenError, match="kept from it"):
        swap_acoustic(content_only, voice[0], layers=[1])
    with pytest.raises(TokenError, match="different models"):
        swap_acoustic(content, dataclasses.replace(voice[0], vocab_sizes={"acoustic": 8}))


# -- convert_voice and partial decoding on a tiny model -----------------------------------------
def test_batched_convert_voice_equals_per_item(tiny_tokenizer):
    sources = [chirp(1400, seed=1), chirp(3000, seed=2), chirp(900, seed=3)]
    reference = chirp(2000, seed=4) * 0.5
    batched = tiny_tokenizer.convert_voice(sources, reference)
    assert batched.lengths.tolist() == [1400, 3000, 900]
    for source, wave in zip(sources, batched.unbatch()):
        single = tiny_tokenizer.convert_voice(source, reference).waveform[0]
        torch.testing.assert_close(wave, single, atol=1e-5, rtol=1e-4)


def test_convert_voice_is_decode_of_swapped_tokens(tiny_tokenizer):
    source, reference = chirp(2500, seed=7), chirp(1100, seed=8)
    expected = tiny_tokenizer.decode(swap_acoustic(tiny_tokenizer.encode(source), tiny_tokenizer.encode(reference), [0], "stretch"))
    out = tiny_tokenizer.convert_voice(source, reference, layers=[0], fit="stretch")
    torch.testing.assert_close(out.waveform, expected.waveform)


def test_acoustic_mean_averages_valid_frames_only(tiny_tokenizer):
    tokens = tiny_tokenizer.encode([chirp(3000), chirp(800, seed=1)])
    mean = tiny_tokenizer.acoustic_mean(tokens)
    assert mean.shape == (2, tiny_tokenizer.config.latent_dim)
    for b, item in enumerate(tokens.unbatch()):
        z = tiny_tokenizer.model.acoustic.decode(item.acoustic)  # [1, D, T_b], no padding
        torch.testing.assert_close(mean[b], z[0].mean(-1))
    assert torch.equal(acoustic_mean(tiny_tokenizer.model, tokens), mean)  # the model-level operation


def test_acoustic_mean_needs_an_acoustic_stream(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(chirp(1500))
    with pytest.raises(TokenError, match="no acoustic stream"):
        tiny_tokenizer.acoustic_mean(dataclasses.replace(tokens, acoustic=None))


def test_decode_streams_sums_only_the_kept_streams(tiny_tokenizer):
    tokens = tiny_tokenizer.encode([chirp(2000), chirp(1200, seed=1)])
    full = tiny_tokenizer.decode_streams(tokens, ("lexical", "phonetic", "acoustic"))
    torch.testing.assert_close(full.waveform, tiny_tokenizer.decode(tokens).waveform, atol=1e-5, rtol=1e-4)

    item = tokens[0]
    model = tiny_tokenizer.model
    voice = tiny_tokenizer.acoustic_mean(tokens[1])
    content = tiny_tokenizer.decode_streams(item, ("lexical", "phonetic"), acoustic=voice)
    z = model.embed({"lexical": item.lexical, "phonetic": item.phonetic}) + voice[..., None]
    torch.testing.assert_close(content.waveform[0], model.decode(z, None)[0, 0, :2000])

    coarse = tiny_tokenizer.decode_streams(dataclasses.replace(item, acoustic=item.acoustic[:, :1]), ("acoustic",))
    z = model.acoustic.layers[0].decode(item.acoustic[:, 0])
    torch.testing.assert_close(coarse.waveform[0], model.decode(z, None)[0, 0, :2000])
    assert not torch.allclose(coarse.waveform, tiny_tokenizer.decode_streams(item, ("acoustic",)).waveform)


def test_decode_streams_is_the_model_level_operation_under_the_lock(tiny_tokenizer):
    """``partial.decode_streams`` takes the model (no tokenizer); the method adds only the lock and the name."""
    from hac_tokenizer.partial import decode_streams

    tokens = tiny_tokenizer.encode([chirp(1800), chirp(700, seed=2)])
    for streams in (("lexical",), ("phonetic", "acoustic"), ("lexical", "phonetic", "acoustic")):
        direct = decode_streams(tiny_tokenizer.model, tokens, streams)
        torch.testing.assert_close(direct.waveform, tiny_tokenizer.decode_streams(tokens, streams).waveform, atol=0, rtol=0)
    foreign = dataclasses.replace(tokens, vocab_sizes={**tokens.vocab_sizes, "lexical": 3})
    with pytest.raises(TokenError, match=r"this model \(named-here\)"):
        decode_streams(tiny_tokenizer.model, foreign, ("lexical",), model_name="named-here")


def test_decode_streams_errors(tiny_tokenizer):
    tokens = tiny_tokenizer.encode(chirp(1000))
    with pytest.raises(TokenError, match="only when the acoustic stream is left out"):
        tiny_tokenizer.decode_streams(tokens, ("acoustic",), acoustic=torch.zeros(32))
    with pytest.raises(TokenError, match="nothing to decode"):
        tiny_tokenizer.decode_streams(tokens, ())
    with pytest.raises(TokenError, match=r"\[D\], \[1, D\] or \[B, D\]"):
        tiny_tokenizer.decode_streams(tokens, ("lexical",), acoustic=torch.zeros(7))
    with pytest.raises(TokenError, match="lack"):
        tiny_tokenizer.decode_streams(dataclasses.replace(tokens, lexical=None), ("lexical",))
    with pytest.raises(TokenError, match="subset"):
        tiny_tokenizer.decode_streams(tokens, ("semantic",))


def test_cli_convert_voice(tiny_tokenizer, tmp_path):
    model_dir = tiny_tokenizer.save_pretrained(tmp_path / "model")
    save_audio(tmp_path / "src.wav", chirp(4000), 16000)
    save_audio(tmp_path / "ref.flac", chirp(11025, sample_rate=22050, seed=3), 22050)
    out = tmp_path / "out" / "converted.wav"
    code = main(["convert-voice", str(tmp_path / "src.wav"), str(tmp_path / "ref.flac"), "-o", str(out),
                 "--model", str(model_dir), "--layers", "1", "--fit", "stretch"])
    assert code == 0
    waveform, rate = load_audio(out)
    assert rate == 16000 and waveform.shape == (1, 4000)
    assert main(["convert-voice", str(tmp_path / "missing.wav"), str(tmp_path / "ref.flac"), "-o", str(out),
                 "--model", str(model_dir)]) == 2
