"""kill -9 at any moment leaves only complete token files, and a rerun finishes the job.

Real subprocesses are killed with SIGKILL (no cleanup handler can run), at random points of their work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer, HACTokens
from hac_tokenizer.audio import save_audio

FILES = 40
ENV = dict(os.environ)  # conftest.py sets OMP_NUM_THREADS=1, which the subprocesses inherit
LENGTHS = [3000 + 137 * i for i in range(FILES)]  # every file a different, non-multiple-of-320 length


def _npz(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.npz"))


def _kill_after(command: list[str], out: Path, more: int, timeout: float = 120) -> int | None:
    """Run ``command``; SIGKILL it once ``more`` new .npz files exist under ``out``. Its return code, or None if it
    finished first."""
    start = len(_npz(out)) if out.exists() else 0
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if out.exists() and len(_npz(out)) >= start + more:
                os.kill(proc.pid, signal.SIGKILL)
                return proc.wait(timeout=30)
            time.sleep(0.005)
        return None if proc.poll() is not None else proc.wait(timeout=1)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def corpus(tiny_tokenizer, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("durability")
    model = tiny_tokenizer.save_pretrained(root / "model")
    for i, n in enumerate(LENGTHS):
        save_audio(root / "audio" / f"spk{i % 3}" / f"utt{i:03d}.wav", chirp(n, seed=i), 16000)
    return root / "audio", model


@pytest.mark.slow
def test_cli_encode_killed_mid_run_resumes_to_the_uninterrupted_result(corpus, tmp_path):
    audio, model = corpus
    out = tmp_path / "tokens"
    command = [sys.executable, "-m", "hac_tokenizer.cli", "encode", str(audio), "-o", str(out), "--model", str(model),
               "-q", "--skip-existing"]
    rng = np.random.default_rng(0)
    for _ in range(2):
        code = _kill_after(command, out, more=int(rng.integers(2, 8)))
        assert code == -signal.SIGKILL, "the run ended before it could be killed; make the corpus larger"
        done = _npz(out)
        assert 0 < len(done) < FILES
        for path in done:  # whatever was on disk when the process died is a complete, readable file
            HACTokens.load(path)
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=ENV)
    assert finished.returncode == 0, finished.stderr
    outputs = _npz(out)
    assert len(outputs) == FILES
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix != ".npz"], "temporary files left behind"
    reference = HACTokenizer.from_pretrained(model)
    for path in outputs:
        source = audio / path.relative_to(out).with_suffix(".wav")
        want, got = reference.encode(source), HACTokens.load(path)
        assert got.sample_lengths.tolist() == [LENGTHS[int(path.stem[3:])]]
        assert all(torch.equal(a, b) for a, b in zip(want.streams().values(), got.streams().values())), path


WRITER = textwrap.dedent(
    """
    import sys, torch
    from hac_tokenizer import HACTokens
    path, version = sys.argv[1], 0
    while True:  # overwrite one file forever; each version is recognisable by its first lexical id
        version += 1
        frames = 2000 + version % 7
        ids = torch.full((3, frames), version % 1000)
        HACTokens(lexical=ids, phonetic=ids, acoustic=ids[:, None].repeat(1, 4, 1),
                  lengths=torch.full((3,), frames), sample_lengths=torch.full((3,), frames * 320),
                  sample_rate=16000, frame_rate=50.0).save(path)
        print(version, flush=True)
    """
)


@pytest.mark.slow
def test_tokens_file_overwritten_when_killed_is_old_or_new_never_partial(tmp_path):
    path = tmp_path / "t.npz"
    rng = np.random.default_rng(1)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=ENV)
        try:
            for _ in range(2):
                proc.stdout.readline()  # at least one complete version exists
            time.sleep(float(rng.uniform(0, 0.05)))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        tokens = HACTokens.load(path)
        assert tokens.lexical.shape[0] == 3 and (tokens.lexical == tokens.lexical[0, 0]).all()
        assert tokens.acoustic.shape[1:] == (4, tokens.num_frames)
