"""One HACTokenizer shared by threads gives exactly what sequential calls give (every public method using the
model holds its lock)."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from safetensors.torch import load_file
from signals import chirp
from torch import Tensor

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import save_audio
from hac_tokenizer.config import tiny_config
from hac_tokenizer.errors import AudioInputError, TokenError

THREADS = 4
JOBS = [chirp(n, seed=i) for i, n in enumerate((4000, 320, 1, 3000, 641, 2500, 1200, 999))]


def _same(a: HACTokens, b: HACTokens) -> bool:
    return torch.equal(a.lengths, b.lengths) and all(
        torch.equal(x, y) for x, y in zip(a.streams().values(), b.streams().values())
    )


def _start_together(fn):
    """Wrap ``fn`` so every worker begins at the same moment, maximising overlap."""
    barrier = threading.Barrier(THREADS)

    def run(arg):
        if arg[0] < THREADS:
            barrier.wait(timeout=30)
        return fn(arg[1])

    return run


def test_threaded_encode_equals_sequential(tiny_tokenizer):
    sequential = [tiny_tokenizer.encode(x) for x in JOBS]
    jobs = list(enumerate(JOBS * 2))
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(tiny_tokenizer.encode), jobs))
    assert all(_same(got, sequential[i % len(JOBS)]) for i, got in enumerate(threaded))


def test_threaded_decode_equals_sequential(tiny_tokenizer):
    tokens = [tiny_tokenizer.encode(x) for x in JOBS]
    sequential = [tiny_tokenizer.decode(t).waveform for t in tokens]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(tiny_tokenizer.decode), enumerate(tokens)))
    assert all(torch.equal(got.waveform, want) for got, want in zip(threaded, sequential))


def test_mixed_batches_and_stream_subsets_in_threads(tiny_tokenizer):
    """Different batch shapes and ``streams`` per call: nothing leaks from one call into another."""
    calls = [
        lambda: tiny_tokenizer.encode(JOBS[:3]),
        lambda: tiny_tokenizer.encode(JOBS[3], streams=("phonetic",)),
        lambda: tiny_tokenizer.encode(torch.stack([JOBS[0], JOBS[0]])),
        lambda: tiny_tokenizer.encode(JOBS[6], streams=("acoustic",)),
    ]
    sequential = [call() for call in calls]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(lambda call: call()), enumerate(calls * 3)))
    assert all(_same(got, sequential[i % len(calls)]) for i, got in enumerate(threaded))


def test_a_failing_call_does_not_block_or_disturb_others(tiny_tokenizer):
    good = tiny_tokenizer.encode(JOBS[0])
    bad_tokens = HACTokens(**{**vars(good), "lexical": good.lexical + 1000})

    def call(kind):
        if kind == "bad-audio":
            with pytest.raises(AudioInputError):
                tiny_tokenizer.encode(torch.full((100,), float("nan")))
            return None
        if kind == "bad-tokens":
            with pytest.raises(TokenError):
                tiny_tokenizer.decode(bad_tokens)
            return None
        return tiny_tokenizer.encode(JOBS[0])

    kinds = ["bad-audio", "good", "bad-tokens", "good"] * 3
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(_start_together(call), enumerate(kinds)))
    assert sum(r is not None for r in results) == 6 and all(_same(r, good) for r in results if r is not None)


def test_other_model_calls_in_threads_equal_sequential(tiny_tokenizer, tmp_path):
    """decode_streams, acoustic_mean, convert_voice, encode_file and save_pretrained, mixed across threads."""
    save_audio(tmp_path / "long.wav", chirp(6000, seed=9), 16000)
    tokens = tiny_tokenizer.encode(JOBS[:3])
    folders = itertools.count()

    def saved() -> Tensor:  # every weight, flattened (the file's header order varies from save to save)
        weights = load_file(tiny_tokenizer.save_pretrained(tmp_path / f"save{next(folders)}") / "model.safetensors")
        return torch.cat([weights[key].flatten() for key in sorted(weights)])

    calls = [
        lambda: tiny_tokenizer.decode_streams(tokens, ("lexical", "phonetic")).waveform,
        lambda: tiny_tokenizer.decode_streams(tokens, ("phonetic",), acoustic=tiny_tokenizer.acoustic_mean(tokens[2])).waveform,
        lambda: tiny_tokenizer.acoustic_mean(tokens),
        lambda: tiny_tokenizer.convert_voice(JOBS[:2], JOBS[3], layers=[1]).waveform,
        lambda: tiny_tokenizer.encode_file(tmp_path / "long.wav", window_seconds=0.2, overlap_seconds=0.08).acoustic,
        saved,
    ]
    sequential = [call() for call in calls]
    with ThreadPoolExecutor(THREADS) as pool:
        threaded = list(pool.map(_start_together(lambda call: call()), enumerate(calls * 3)))
    assert all(torch.equal(got, sequential[i % len(calls)]) for i, got in enumerate(threaded))


def _fresh_tokenizer() -> HACTokenizer:
    """Its own model: these tests cast and patch it, which must not reach the shared fixture."""
    torch.manual_seed(0)
    return HACTokenizer.from_config(tiny_config())


def test_each_call_runs_in_one_precision_while_another_thread_casts(monkeypatch):
    """``to`` waits for running calls; a composite call (convert_voice: two encodes, one decode) sees one dtype."""
    tok = _fresh_tokenizer()
    tok.to(dtype=torch.float16).to(dtype=torch.float32)  # weights now fp16-exact: later casts change no value
    source, reference = JOBS[0], JOBS[3]
    tokens = tok.encode(source)
    calls = [
        lambda: tok.encode(source).acoustic,
        lambda: tok.decode(tokens).waveform,
        lambda: tok.convert_voice(source, reference).waveform,
        lambda: tok.decode_streams(tokens, ("lexical", "acoustic")).waveform,
    ]
    expected = {}
    for dtype in (torch.float16, torch.float32):
        tok.to(dtype=dtype)
        expected[dtype] = [call() for call in calls]

    seen = threading.local()  # dtypes the encoder and decoder ran in during this thread's current call

    def recording(module):
        forward = module.forward

        def recorded(*args, **kwargs):
            seen.dtypes.add(next(module.parameters()).dtype)
            time.sleep(0.002)  # widen the window for a cast
            return forward(*args, **kwargs)

        return recorded

    for module in (tok.model.encoder, tok.model.decoder):
        monkeypatch.setattr(module, "forward", recording(module))

    def run(call):
        seen.dtypes = set()
        return call(), seen.dtypes

    stop = threading.Event()

    def cast():  # back and forth until every call is done
        for dtype in itertools.cycle((torch.float16, torch.float32)):
            if stop.is_set():
                return
            tok.to(dtype=dtype)
            time.sleep(0.001)

    caster = threading.Thread(target=cast)
    caster.start()
    try:
        with ThreadPoolExecutor(THREADS - 1) as pool:
            results = list(pool.map(run, calls * 4))
    finally:
        stop.set()
        caster.join()
    assert {dtype for _, dtypes in results for dtype in dtypes} == set(expected)  # the casts did interleave
    for i, (got, dtypes) in enumerate(results):
        assert len(dtypes) == 1, (i, dtypes)
        assert torch.equal(got, expected[next(iter(dtypes))][i % len(calls)]), i


@pytest.mark.parametrize("method", ["to", "compile", "save_pretrained"])
def test_methods_that_change_or_read_the_whole_model_wait_for_a_running_call(method, monkeypatch, tmp_path):
    """While one thread is inside the model, ``method`` from another thread waits until that call is over.

    The running calls are every public method that runs the model; each passes through the encoder, the
    decoder or the acoustic RVQ's lookup, which hold the model a while and say when they are entered.
    """
    tok = _fresh_tokenizer()
    save_audio(tmp_path / "long.wav", chirp(3000, seed=5), 16000)
    tokens = tok.encode(JOBS[0])
    inside, met = [], []  # calls inside the model now; whether each touch of ``method`` met one
    entered = threading.Event()

    def holding(original):
        def run(*args, **kwargs):
            inside.append(1)
            entered.set()
            try:
                time.sleep(0.02)  # an unlocked method, started now, would touch the model meanwhile
                return original(*args, **kwargs)
            finally:
                inside.pop()

        return run

    def touching(original):
        def touch(*args, **kwargs):
            met.append(bool(inside))
            return original(*args, **kwargs)

        return touch

    for module, name in ((tok.model.encoder, "forward"), (tok.model.decoder, "forward"), (tok.model.acoustic, "decode")):
        monkeypatch.setattr(module, name, holding(getattr(module, name)))
    folders = itertools.count()
    if method == "compile":
        transformers = [stream.transformer for stream in tok.model.streams().values()]
        for module in (tok.model.encoder, *transformers, tok.model.decoder):
            monkeypatch.setattr(module, "compile", touching(lambda **options: None))  # no real compilation
        call = tok.compile
    elif method == "to":
        monkeypatch.setattr(tok.model, "to", touching(tok.model.to))
        call = lambda: tok.to(dtype=torch.float32)
    else:
        monkeypatch.setattr(tok.model, "state_dict", touching(tok.model.state_dict))
        call = lambda: tok.save_pretrained(tmp_path / f"save{next(folders)}")

    calls = {
        "encode": lambda: tok.encode(JOBS[1]),
        "encode_file": lambda: tok.encode_file(tmp_path / "long.wav"),
        "decode": lambda: tok.decode(tokens),
        "decode_streams": lambda: tok.decode_streams(tokens, ("phonetic",)),
        "acoustic_mean": lambda: tok.acoustic_mean(tokens),
        "convert_voice": lambda: tok.convert_voice(JOBS[1], JOBS[2]),
    }
    for name, run in calls.items():
        entered.clear()
        met.clear()
        with ThreadPoolExecutor(2) as pool:
            running = pool.submit(run)
            assert entered.wait(timeout=30), name
            changing = pool.submit(call)
            running.result(), changing.result()
        assert met and not any(met), name
