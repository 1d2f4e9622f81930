"""The demo page: its WSGI app called directly (tiny model), a real server and the CLI over HTTP, and the page in a
real headless Chromium (bundled model, as ``hac-tokenizer demo`` serves it)."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import wsgiref.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from signals import chirp

from hac_tokenizer import HACTokenizer
from hac_tokenizer.demo import DemoApp, make_demo_server
from hac_tokenizer.demo.analysis import SPECTROGRAM_BANDS
from hac_tokenizer.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEECH_EN = REPO_ROOT / "examples" / "audio" / "speech_en.wav"
SPEECH_FR = REPO_ROOT / "examples" / "audio" / "speech_fr.wav"
BOUNDARY = "hacDemoBoundary"


def _multipart(**files: tuple[str, bytes]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for field, (name, data) in files.items()
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class _Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body of a refused upload must not be read")


def _call(app: DemoApp, method: str, path: str, body: bytes | None = None, **environ) -> tuple[str, dict | bytes]:
    env: dict = {}
    wsgiref.util.setup_testing_defaults(env)
    env.update(REQUEST_METHOD=method, PATH_INFO=path)
    if body is not None:
        env.update(
            CONTENT_LENGTH=str(len(body)),
            CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
            **{"wsgi.input": io.BytesIO(body)},
        )
    env.update(environ)
    answer: dict = {}
    data = b"".join(app(env, lambda status, headers: answer.update(status=status, headers=dict(headers))))
    json_reply = answer["headers"]["Content-Type"] == "application/json"
    return answer["status"], json.loads(data) if json_reply else data


def _wav_bytes(waveform: torch.Tensor, sample_rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, waveform.numpy(), sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def _samples(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:audio/wav;base64,")
    samples, rate = sf.read(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])), dtype="float32")
    assert rate == 16000
    return samples


@pytest.fixture(scope="module")
def app(tiny_tokenizer) -> DemoApp:
    return DemoApp(tiny_tokenizer, max_upload_bytes=200_000, max_seconds=2.0)


@pytest.fixture(scope="module")
def clip() -> bytes:
    return _wav_bytes(chirp(12000))


def test_page_and_info(app, tiny_tokenizer):
    status, page = _call(app, "GET", "/")
    assert status == "200 OK" and b'id="upload"' in page and b'id="reference"' in page
    status, info = _call(app, "GET", "/api/info")
    assert status == "200 OK" and info["model"] == "tiny" and info["streams"] == list(tiny_tokenizer.config.streams)
    assert info["max_upload_bytes"] == 200_000 and info["max_seconds"] == 2.0


def test_analyze_returns_the_tokenizer_s_own_tokens_and_audio(app, tiny_tokenizer, clip):
    status, result = _call(app, "POST", "/api/analyze", _multipart(audio=("clip.wav", clip)))
    assert status == "200 OK", result
    waveform = torch.from_numpy(sf.read(io.BytesIO(clip), dtype="float32")[0])
    tokens = tiny_tokenizer.encode(waveform, sample_rate=16000)
    assert result["frames"] == int(tokens.lengths[0]) == 38
    assert result["streams"]["lexical"] == [tokens.lexical[0].tolist()]
    assert result["streams"]["acoustic"] == tokens.acoustic[0].tolist()
    expected = {
        "input": waveform,
        "reconstruction": tiny_tokenizer.decode(tokens).unbatch()[0],
        "content_only": tiny_tokenizer.decode_streams(tokens, ("lexical", "phonetic")).unbatch()[0],
        "acoustic_only": tiny_tokenizer.decode_streams(tokens, ("acoustic",)).unbatch()[0],
    }
    assert list(result["audio"]) == list(expected)
    for kind, want in expected.items():  # 16-bit PCM: equal to within one quantisation step
        np.testing.assert_allclose(
            _samples(result["audio"][kind]), want.clamp(-1, 1).numpy(), atol=1.01 / 32768, err_msg=kind
        )
    spec = result["spectrogram"]
    assert (spec["bands"], spec["frames"]) == (SPECTROGRAM_BANDS, 12000 // 320 + 1)
    levels = np.frombuffer(base64.b64decode(spec["data"]), dtype=np.uint8)
    assert levels.size == spec["bands"] * spec["frames"] and levels.max() == 255


def test_other_rates_and_channels_are_read_as_encode_reads_them(app, tiny_tokenizer, tmp_path):
    stereo = torch.stack([chirp(22050, 44100), chirp(22050, 44100, seed=1)], dim=1)  # [S, 2]
    sf.write(tmp_path / "stereo.flac", stereo.numpy(), 44100)
    upload = _multipart(audio=("stereo.flac", (tmp_path / "stereo.flac").read_bytes()))
    status, result = _call(app, "POST", "/api/analyze", upload)
    assert status == "200 OK", result
    expected = tiny_tokenizer.encode(tmp_path / "stereo.flac")
    assert result["streams"]["phonetic"] == [expected.phonetic[0].tolist()]
    assert result["seconds"] == 0.5


def test_convert_returns_the_voice_conversion(app, tiny_tokenizer, clip):
    reference = _wav_bytes(chirp(8000, seed=3) * 0.5)
    body = _multipart(source=("a.wav", clip), reference=("b.wav", reference))
    status, result = _call(app, "POST", "/api/convert", body)
    assert status == "200 OK", result
    read = [torch.from_numpy(sf.read(io.BytesIO(b), dtype="float32")[0]) for b in (clip, reference)]
    expected = tiny_tokenizer.convert_voice(*read, sample_rate=16000).unbatch()[0]
    np.testing.assert_allclose(_samples(result["audio"]["converted"]), expected.numpy(), atol=1.01 / 32768)


def test_oversized_upload_is_refused_before_reading(app):
    status, reply = _call(
        app,
        "POST",
        "/api/analyze",
        b"",
        CONTENT_LENGTH="300000",
        CONTENT_TYPE="multipart/form-data",
        **{"wsgi.input": _Unreadable()},
    )
    assert status.startswith("413") and "this demo takes at most 0.190735 MB" in reply["error"]
    assert "--max-upload-mb" in reply["error"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"RIFF....WAVEnot really", "notes.wav: cannot read the audio header (Error in WAV file"),
        (b"", "notes.wav: cannot read the audio header"),
        (_wav_bytes(chirp(48000)), "'notes.wav' is 3.0 s long; this demo takes at most 2 s"),
        (_wav_bytes(torch.zeros(0)), "notes.wav contains no samples"),
    ],
)
def test_unusable_audio_gets_a_json_error_naming_the_upload(app, data, message):
    status, reply = _call(app, "POST", "/api/analyze", _multipart(audio=("notes.wav", data)))
    assert status == "400 Bad Request" and message in reply["error"]
    assert "hac-demo-" not in reply["error"]  # the server's temporary file is no business of the user's


def test_float_wav_with_nan_is_refused(app):
    buffer = io.BytesIO()
    sf.write(buffer, np.array([0.1, np.nan, 0.2] * 1000, dtype=np.float32), 16000, subtype="FLOAT", format="WAV")
    status, reply = _call(app, "POST", "/api/analyze", _multipart(audio=("nan.wav", buffer.getvalue())))
    assert status == "400 Bad Request" and "NaN" in reply["error"]


def test_bad_requests_say_what_to_send(app, clip):
    assert _call(app, "POST", "/api/analyze", _multipart(other=("a.wav", clip)))[1]["error"].startswith(
        "the form has no 'audio'"
    )
    status, reply = _call(
        app, "POST", "/api/convert", _multipart(source=("a.wav", clip), reference=("b.wav", clip), fit=("f", b"warp"))
    )
    assert status == "400 Bad Request" and "unknown length fit 'warp'" in reply["error"]
    status, reply = _call(app, "POST", "/api/analyze", b"{}", CONTENT_TYPE="application/json")
    assert status == "400 Bad Request" and "multipart/form-data" in reply["error"]
    assert _call(app, "POST", "/api/analyze", b"", CONTENT_LENGTH="")[0].startswith("411")
    assert _call(app, "GET", "/api/analyze")[0].startswith("405")
    assert _call(app, "POST", "/")[0].startswith("405")
    assert _call(app, "GET", "/nowhere")[0].startswith("404")


@pytest.mark.parametrize("limits", [{"max_upload_bytes": 0}, {"max_seconds": 0.0}, {"max_seconds": float("nan")}])
def test_limits_must_be_positive(tiny_tokenizer, limits):
    with pytest.raises(ConfigError, match="must be positive"):
        DemoApp(tiny_tokenizer, **limits)


@pytest.fixture()
def server(app):
    server = make_demo_server(app, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_real_server_binds_loopback_and_answers_json_errors(server, clip):
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/analyze",
        data=_multipart(audio=("bad.wav", b"\x00" * 1000)),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 400 and "bad.wav" in json.loads(info.value.read())["error"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/analyze",
        data=_multipart(audio=("clip.wav", clip)),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert json.loads(reply.read())["frames"] == 38


def _demo_command(model: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "hac_tokenizer.cli", "demo", "--model", str(model), *options]


def test_cli_serves_the_page(tiny_tokenizer, tmp_path):
    command = _demo_command(tiny_tokenizer.save_pretrained(tmp_path / "tiny"), "--port", "0", "--max-seconds", "5")
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        assert "hac-tokenizer demo of tiny: http://127.0.0.1:" in line, line
        url = line.split(": ", 1)[1].split(" ")[0]
        with urllib.request.urlopen(url + "api/info", timeout=30) as reply:
            info = json.loads(reply.read())
        assert info["model"] == "tiny" and info["max_seconds"] == 5.0
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def test_cli_says_when_the_port_is_taken(server, tiny_tokenizer, tmp_path):
    command = _demo_command(tiny_tokenizer.save_pretrained(tmp_path / "tiny"), "--port", str(server.server_port))
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"cannot serve the demo on 127.0.0.1:{server.server_port}" in done.stderr
    assert "pass another --port" in done.stderr


# -- the page in a real browser ------------------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium and its driver are not installed (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1250"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def bundled_server():
    """The page as ``hac-tokenizer demo`` serves it by default: the bundled model, loopback, default limits."""
    server = make_demo_server(DemoApp(HACTokenizer.from_pretrained()), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()


def _wait(driver, script: str, timeout: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


PLAYABLE = """
const player = document.getElementById(arguments[0]);
return player !== null && player.src.startsWith('blob:') && player.readyState >= 1 && player.duration > 0
    ? player.duration : null;
"""


def test_page_in_a_browser_shows_streams_and_plays_every_decode(browser, bundled_server, tmp_path):
    browser.get(bundled_server)
    _wait(browser, "return document.getElementById('model').textContent.startsWith('model hac-mls8-small')")
    browser.find_element("id", "upload").send_keys(str(SPEECH_EN))
    _wait(browser, "return document.getElementById('streams').classList.contains('ready')")

    tokens = HACTokenizer.from_pretrained().encode(SPEECH_EN)
    lanes = browser.find_elements("css selector", "#streams .stream")
    assert [lane.get_attribute("data-stream") for lane in lanes] == ["lexical", "phonetic"] + ["acoustic"] * 4
    assert {lane.get_attribute("data-frames") for lane in lanes} == {str(int(tokens.lengths[0]))}
    seconds = sf.info(str(SPEECH_EN)).duration
    for kind in ("input", "reconstruction", "content_only", "acoustic_only"):
        assert _wait(browser, PLAYABLE.replace("arguments[0]", repr(f"audio-{kind}"))) == pytest.approx(
            seconds, abs=0.01
        )
    assert browser.find_element("id", "error").text == ""

    browser.find_element("id", "reference").send_keys(str(SPEECH_FR))
    assert _wait(browser, PLAYABLE.replace("arguments[0]", "'audio-converted'")) == pytest.approx(seconds, abs=0.01)
    assert "converted: content of speech_en.wav, voice of speech_fr.wav" in browser.find_element("id", "status").text

    screenshot = tmp_path / "demo.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    if os.environ.get("HAC_DEMO_SCREENSHOT"):  # how docs/demo.png is made: HAC_DEMO_SCREENSHOT=docs/demo.png pytest ...
        shutil.copyfile(screenshot, os.environ["HAC_DEMO_SCREENSHOT"])


def test_page_in_a_browser_shows_the_server_s_error(browser, bundled_server, tmp_path):
    browser.get(bundled_server)
    _wait(browser, "return document.getElementById('model').textContent.startsWith('model')")
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"these are not samples")
    browser.find_element("id", "upload").send_keys(str(bad))
    _wait(browser, "return document.getElementById('error').textContent.length > 0")
    assert "notes.wav: cannot read the audio header" in browser.find_element("id", "error").text
    assert not browser.find_element("id", "result").is_displayed()
