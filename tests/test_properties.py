"""Property-based tests: random shapes, lengths, dtypes, sample rates and ragged batches.

Whatever hypothesis draws, ``encode`` returns valid, deterministic tokens or raises a typed error with
a reason we expect; ``decode(encode(x))`` is finite and exactly as long as the input (at the model's
rate). A model of ~10k parameters, built once, keeps 1000+ examples within CI time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hac_tokenizer import PAD_ID, HACConfig, HACTokenizer, HACTokens, StreamConfig, TransformerConfig
from hac_tokenizer.errors import AudioInputError, HACError, WindowError

HOP = 320
RATE = 16000
EDGE_LENGTHS = (1, 2, 319, 320, 321, 639, 640, 641, 1000)
RATES = (8000, 11025, 16000, 22050, 44100, 48000)
FLOAT_DTYPES = (np.float32, np.float64, np.float16)
INT_DTYPES = (np.int16, np.int32, np.uint8, np.int8)
FULL_SCALE = {np.int16: 2**15, np.int32: 2**31, np.int8: 2**7}


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )




@pytest.fixture(scope="module")
def tok() -> HACTokenizer:
    """~11k parameters, every part of the architecture."""
    torch.manual_seed(0)
    transformer = TransformerConfig(layers=1, heads=1, width=4, ffn=4, pos_conv_kernel=2, pos_conv_groups=1)
    stream = StreamConfig(codebook_size=8, codebook_dim=2, transformer=transformer)
    config = HACConfig(
        name="micro", encoder_dim=1, latent_dim=4, decoder_dim=16, acoustic_layers=2,
        acoustic_codebook_size=4, acoustic_codebook_dim=2, phonetic=stream, lexical=stream,
    )
    return HACTokenizer.from_config(config)


# -- strategies -----------------------------------------------------------------------------------
lengths = st.one_of(st.sampled_from(EDGE_LENGTHS), st.integers(1, 2400))
rates = st.one_of(st.sampled_from(RATES), st.integers(1000, 96000))


def _signal(rng: np.random.Generator, shape: tuple[int, ...], dtype: type, amplitude: float) -> np.ndarray:
    """Noise of ``shape`` in ``dtype``; integer PCM at full scale, floats at ``amplitude`` (may exceed 1)."""
    x = np.clip(rng.standard_normal(shape) * 0.3, -1, 1)
    if dtype == np.uint8:
        return np.round(x * 127 + 128).astype(np.uint8)
    if dtype in FULL_SCALE:
        return np.round(x * (FULL_SCALE[dtype] - 1)).astype(dtype)
    return (x * amplitude).astype(dtype)


@dataclass
class Example:
    audio: object  # what encode receives
    sample_rate: int
    item_lengths: list[int]  # samples per item at sample_rate


@st.composite
def audio_inputs(draw) -> Example:
    """Every accepted layout: [S], [B, S], [B, C, S], a ragged list of [S] / [C, S], numpy or torch."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(FLOAT_DTYPES + INT_DTYPES))
    amplitude = draw(st.sampled_from((1.0, 0.01, 2.5)))
    rate = draw(rates)
    layout = draw(st.sampled_from(("1d", "2d", "3d", "list")))
    batch = 1 if layout == "1d" else draw(st.integers(1, 4))
    channels = draw(st.integers(1, 3))
    if layout == "list":
        items_len = draw(st.lists(lengths, min_size=batch, max_size=batch))
        audio = [
            _signal(rng, (n,) if channels == 1 else (channels, n), dtype, amplitude) for n in items_len
        ]
    else:
        n = draw(lengths)
        items_len = [n] * batch
        shape = {"1d": (n,), "2d": (batch, n), "3d": (batch, channels, n)}[layout]
        audio = _signal(rng, shape, dtype, amplitude)
    if draw(st.booleans()):
        audio = [torch.from_numpy(a) for a in audio] if isinstance(audio, list) else torch.from_numpy(audio)
    return Example(audio, rate, items_len)


def _resampled(n: int, rate: int) -> float:
    return n * RATE / rate


def _encode(tok: HACTokenizer, example: Example) -> HACTokens:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the clipping warning is tested in test_bad_inputs
        return tok.encode(example.audio, sample_rate=example.sample_rate)


def _assert_valid(tokens: HACTokens, tok: HACTokenizer) -> None:
    assert torch.equal(tokens.lengths, -(-tokens.sample_lengths // HOP))
    assert tokens.num_frames == int(tokens.lengths.max())
    for name, codes in tokens.streams().items():
        mask = tokens.mask if codes.dim() == 2 else tokens.mask[:, None].expand_as(codes)
        assert (codes[~mask] == PAD_ID).all()
        assert codes[mask].min() >= 0 and codes[mask].max() < tok.config.vocab_sizes()[name]


# -- properties -----------------------------------------------------------------------------------
@_settings(350)
@given(example=audio_inputs())
def test_encode_gives_valid_deterministic_tokens(tok, example):
    """No unhandled exception: tokens are valid and repeatable, or the audio is too short to resample."""
    too_short = any(_resampled(n, example.sample_rate) < 0.5 for n in example.item_lengths)
    try:
        tokens = _encode(tok, example)
    except AudioInputError as err:
        assert too_short and "too short to resample" in str(err)
        return
    assert not too_short
    assert tokens.batch_size == len(example.item_lengths)
    for n, got in zip(example.item_lengths, tokens.sample_lengths.tolist()):
        assert abs(got - _resampled(n, example.sample_rate)) <= 0.5
    _assert_valid(tokens, tok)
    again = _encode(tok, example)
    assert all(torch.equal(a, b) for a, b in zip(tokens.streams().values(), again.streams().values()))


@_settings(200)
@given(example=audio_inputs())
def test_decode_of_encode_keeps_every_item_length(tok, example):
    if any(_resampled(n, example.sample_rate) < 0.5 for n in example.item_lengths):
        return  # refused by encode, covered above
    tokens = _encode(tok, example)
    audio = tok.decode(tokens)
    assert torch.isfinite(audio.waveform).all() and audio.waveform.abs().max() <= 1
    assert audio.lengths.tolist() == tokens.sample_lengths.tolist()
    assert [len(w) for w in audio.unbatch()] == tokens.sample_lengths.tolist()
    if example.sample_rate == RATE:
        assert audio.lengths.tolist() == example.item_lengths


@_settings(100)
@given(seed=st.integers(0, 2**32 - 1), item_lengths=st.lists(lengths, min_size=2, max_size=4))
def test_ragged_batch_equals_each_item_alone(tok, seed, item_lengths):
    rng = np.random.default_rng(seed)
    items = [torch.from_numpy(_signal(rng, (n,), np.float32, 1.0)) for n in item_lengths]
    batch = tok.encode(items)
    for i, item in enumerate(items):
        alone = tok.encode(item)
        for name, codes in batch.streams().items():
            assert torch.equal(codes[i, ..., : batch.lengths[i]], getattr(alone, name)[0]), (i, name)


@_settings(100)
@given(
    seed=st.integers(0, 2**32 - 1),
    item_lengths=st.lists(st.integers(1, 6000), min_size=1, max_size=3),
    window=st.floats(0.02, 0.2),
    overlap_share=st.floats(0.0, 0.9),
)
def test_windowed_encode_and_decode_keep_lengths(tok, seed, item_lengths, window, overlap_share):
    """Long-audio path: windows of 1-10 frames, any overlap that leaves a centre, any item lengths."""
    rng = np.random.default_rng(seed)
    items = [torch.from_numpy(_signal(rng, (n,), np.float32, 1.0)) for n in item_lengths]
    try:
        tokens = tok.encode(items, window_seconds=window, overlap_seconds=window * overlap_share)
    except WindowError as err:
        assert "leaves no centre" in str(err)  # the overlap rounds up to the whole window
        return
    _assert_valid(tokens, tok)
    again = tok.encode(items, window_seconds=window, overlap_seconds=window * overlap_share)
    assert all(torch.equal(a, b) for a, b in zip(tokens.streams().values(), again.streams().values()))
    audio = tok.decode(tokens, window_seconds=window, overlap_seconds=window * overlap_share)
    assert audio.lengths.tolist() == item_lengths and torch.isfinite(audio.waveform).all()


@_settings(60)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=lengths,
    rate=st.sampled_from(RATES),
    channels=st.integers(1, 3),
    kind=st.sampled_from((("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("WAV", "PCM_U8"), ("FLAC", "PCM_16"))),
)
def test_file_input_equals_the_same_samples_as_an_array(tok, tmp_path_factory, seed, n, rate, channels, kind):
    """Any rate, channel count and sample format on disk: encode(path) == encode(what the file holds)."""
    fmt, subtype = kind
    path = tmp_path_factory.getbasetemp() / f"property.{fmt.lower()}"
    data = _signal(np.random.default_rng(seed), (n, channels), np.float32, 1.0)
    sf.write(str(path), data, rate, format=fmt, subtype=subtype)
    stored, _ = sf.read(str(path), dtype="float32", always_2d=True)  # [S, C] after the format's quantisation
    example = Example(torch.from_numpy(np.ascontiguousarray(stored.T))[None], rate, [n])
    if _resampled(n, rate) < 0.5:
        return
    from_file, from_array = tok.encode(path), _encode(tok, example)
    assert all(torch.equal(a, b) for a, b in zip(from_file.streams().values(), from_array.streams().values()))
    assert torch.equal(from_file.sample_lengths, from_array.sample_lengths)


@st.composite
def random_tokens(draw, config: HACConfig) -> HACTokens:
    """Valid tokens that no encoder produced: random ids, random ragged lengths, PAD past each length."""
    sample_lengths = torch.tensor(draw(st.lists(st.integers(1, 3000), min_size=1, max_size=3)))
    frames = -(-sample_lengths // HOP)
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    mask = torch.arange(int(frames.max()))[None, :] < frames[:, None]  # [B, T]
    sizes = config.vocab_sizes()

    def ids(name: str, *shape: int) -> torch.Tensor:
        codes = torch.randint(0, sizes[name], (len(frames), *shape, mask.shape[1]), generator=gen)
        return codes.masked_fill(~(mask[:, None] if shape else mask), PAD_ID)

    return HACTokens(
        lexical=ids("lexical"), phonetic=ids("phonetic"), acoustic=ids("acoustic", config.acoustic_layers),
        lengths=frames, sample_lengths=sample_lengths, sample_rate=config.sample_rate, frame_rate=config.frame_rate,
        model=config.name, vocab_sizes=sizes,
    )


@_settings(200)
@given(data=st.data())
def test_any_valid_tokens_decode_to_finite_audio_of_their_length(tok, data):
    tokens = data.draw(random_tokens(tok.config))
    audio = tok.decode(tokens)
    assert torch.isfinite(audio.waveform).all()
    assert audio.waveform.shape == (tokens.batch_size, int(tokens.sample_lengths.max()))


@_settings(60)  # each save is fsynced: few examples, since the shapes above already vary widely
@given(data=st.data())
def test_tokens_survive_save_and_load(tok, data, tmp_path_factory):
    tokens = data.draw(random_tokens(tok.config))
    path = tmp_path_factory.getbasetemp() / "property_tokens.npz"
    tokens.save(path)
    loaded = HACTokens.load(path)
    saved, read = tokens.numpy(), loaded.numpy()
    assert saved.keys() == read.keys() and all(np.array_equal(saved[k], read[k]) for k in saved)
    assert loaded.vocab_sizes == tokens.vocab_sizes


@st.composite
def hostile_inputs(draw) -> tuple[object, object]:
    """Random damage to a valid clip: odd dtypes, NaN/inf at a random place, bad rates, odd ranks."""
    n = draw(lengths)
    x = torch.from_numpy(_signal(np.random.default_rng(n), (n,), np.float32, 1.0))
    damage = draw(st.sampled_from(("dtype", "nonfinite", "rate", "rank", "none")))
    rate: object = RATE
    if damage == "dtype":
        x = x.to(draw(st.sampled_from((torch.int64, torch.bool, torch.complex64, torch.uint16, torch.bfloat16))))
    elif damage == "nonfinite":
        x = x.clone()
        x[draw(st.integers(0, n - 1))] = draw(st.sampled_from((float("nan"), float("inf"), float("-inf"))))
    elif damage == "rate":
        rate = draw(st.one_of(st.integers(-10**6, 10**9), st.floats(allow_nan=True), st.sampled_from(("16k", None))))
    elif damage == "rank":
        x = x.reshape((1,) * draw(st.integers(0, 4)) + (n,))
    return x, rate


@_settings(250)
@given(case=hostile_inputs())
def test_damaged_input_is_accepted_or_refused_with_a_typed_error(tok, case):
    audio, rate = case
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            tokens = tok.encode(audio, sample_rate=rate)
    except HACError:
        return
    _assert_valid(tokens, tok)
