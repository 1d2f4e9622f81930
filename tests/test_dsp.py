"""The one spectral module: frame-rate STFT and its overlap-add inverse, mel filters."""

from __future__ import annotations

import pytest
import torch

from hac_tokenizer.nn.dsp import (
    frame_stft,
    mel_filterbank,
    mel_spectrogram,
    overlap_add,
    stft,
    stft_complex,
    stft_magnitude,
)
from hac_tokenizer.nn.layers import length_mask

HOP, N_FFT = 320, 1280


def test_frame_stft_gives_one_frame_per_hop_and_overlap_add_inverts_it():
    x = torch.randn(2, 1, 40 * HOP, generator=torch.Generator().manual_seed(0))
    spectrum = frame_stft(x, N_FFT, HOP)
    assert spectrum.shape == (2, N_FFT // 2 + 1, 40)
    torch.testing.assert_close(overlap_add(spectrum, N_FFT, HOP), x, atol=1e-5, rtol=0)


def test_frame_t_is_centred_on_the_middle_of_hop_t():
    x = torch.zeros(1, 1, 10 * HOP)
    x[..., 4 * HOP + HOP // 2] = 1.0  # an impulse in the middle of hop 4
    energy = frame_stft(x, N_FFT, HOP).abs().pow(2).sum(1)[0]  # [T]
    assert int(energy.argmax()) == 4
    torch.testing.assert_close(energy[3], energy[5])  # symmetric around frame 4


def test_overlap_add_of_a_padded_batch_equals_each_item_alone():
    gen = torch.Generator().manual_seed(1)
    short = torch.randn(1, N_FFT // 2 + 1, 12, dtype=torch.complex64, generator=gen)
    long = torch.randn(1, N_FFT // 2 + 1, 20, dtype=torch.complex64, generator=gen)
    padded = torch.cat([torch.nn.functional.pad(short, (0, 8)), long])
    mask = length_mask(torch.tensor([12, 20]), 20)
    batched = overlap_add(padded, N_FFT, HOP, mask)
    torch.testing.assert_close(batched[:1, :, : 12 * HOP], overlap_add(short, N_FFT, HOP), atol=1e-6, rtol=0)
    torch.testing.assert_close(batched[1:], overlap_add(long, N_FFT, HOP), atol=1e-6, rtol=0)


def test_mel_filterbank_matches_librosa_slaney_filters():
    librosa = pytest.importorskip("librosa")
    for n_fft, n_mels in ((1280, 80), (2048, 320), (64, 10)):
        ours = mel_filterbank(16000, n_fft, n_mels)
        reference = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=n_mels)).float()
        torch.testing.assert_close(ours, reference, atol=1e-6, rtol=1e-4)


def test_stft_is_dacs_hann_centred_reflect_padded_analysis():
    librosa = pytest.importorskip("librosa")
    x = torch.randn(1, 1, 3001, generator=torch.Generator().manual_seed(2))
    for window in (32, 512, 2048):
        ours = stft(x, window)
        assert ours.shape == (1, window // 2 + 1, 3001 // (window // 4) + 1)
        reference = librosa.stft(
            x[0, 0].double().numpy(), n_fft=window, hop_length=window // 4, window="hann", center=True,
            pad_mode="reflect",
        )
        torch.testing.assert_close(ours[0], torch.from_numpy(reference).to(ours.dtype), atol=1e-4, rtol=1e-4)


def test_stft_complex_layout_and_mel_spectrogram():
    x = 0.3 * torch.randn(2, 1, 8000, generator=torch.Generator().manual_seed(3))
    spec = stft_complex(x, 512)
    assert spec.shape == (2, 2, 8000 // 128 + 1, 257)
    torch.testing.assert_close(torch.view_as_complex(spec.permute(0, 3, 2, 1).contiguous()), stft(x, 512))
    filters = mel_filterbank(16000, 512, 40)
    torch.testing.assert_close(mel_spectrogram(x, filters), filters @ stft_magnitude(x, 512))
