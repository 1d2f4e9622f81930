"""The demo's web server: a small WSGI app (the page, a JSON API) and a threaded standard-library server for it.

Routes:

* ``GET /``: the page (``static/index.html``, shipped with the package).
* ``GET /api/info``: the model's name, streams, vocabulary sizes, bitrate, and this server's upload limits.
* ``POST /api/analyze``: ``multipart/form-data`` with an ``audio`` file -> the tokens, a spectrogram and the
  decoded audio (:func:`hac_tokenizer.demo.analysis.analyze`).
* ``POST /api/convert``: ``source`` and ``reference`` files (and optionally ``fit``: loop or stretch) -> the source
  in the reference's voice.

Every error is JSON ``{"error": "..."}`` saying what to do: 400 for unusable audio or a malformed request, 413 for
an upload over the limit (refused from its Content-Length, before it is read), 404/405 for unknown routes.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from email import policy
from email.parser import BytesParser
from importlib import resources
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import ConfigError, DemoRequestError, HACError
from ..tokenizer import HACTokenizer
from .analysis import Upload, analyze, convert

log = logging.getLogger("hac_tokenizer.demo")

DEFAULT_HOST = "127.0.0.1"  # loopback only: the demo runs a model on whatever strangers upload
DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD_BYTES = 20 * 2**20
DEFAULT_MAX_SECONDS = 60.0

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _page() -> bytes:
    return (resources.files(__package__) / "static" / "index.html").read_bytes()


class DemoApp:
    """WSGI application of the demo page for ``tokenizer``.

    ``max_upload_bytes`` caps one request's body (all its files), ``max_seconds`` each audio file's duration. The
    tokenizer's own lock serialises model calls, so the app may be served by a threaded server.
    """

    def __init__(
        self,
        tokenizer: HACTokenizer,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        if max_upload_bytes <= 0 or not max_seconds > 0:
            raise ConfigError(
                f"the demo's limits must be positive, got max_upload_bytes={max_upload_bytes}, max_seconds={max_seconds}."
            )
        self.tokenizer = tokenizer
        self.max_upload_bytes = max_upload_bytes
        self.max_seconds = max_seconds

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        try:
            if path == "/":
                self._allow(method, "GET")
                return self._respond(start_response, "200 OK", "text/html; charset=utf-8", _page())
            if path == "/api/info":
                self._allow(method, "GET")
                return self._json(start_response, "200 OK", self.info())
            if path == "/api/analyze":
                self._allow(method, "POST")
                files = self._files(environ)
                return self._json(
                    start_response, "200 OK", analyze(self.tokenizer, self._field(files, "audio"), self.max_seconds)
                )
            if path == "/api/convert":
                self._allow(method, "POST")
                files = self._files(environ)
                fit = files["fit"].data.decode("utf-8", "replace") if "fit" in files else "loop"
                result = convert(
                    self.tokenizer, self._field(files, "source"), self._field(files, "reference"), self.max_seconds, fit
                )
                return self._json(start_response, "200 OK", result)
            raise DemoRequestError(
                "404 Not Found", f"no such page {path!r}; the demo serves / and /api/analyze, /api/convert, /api/info."
            )
        except DemoRequestError as err:
            return self._json(start_response, err.status, {"error": str(err)})
        except HACError as err:  # the audio or an option is unusable: the user's to fix, with the library's message
            return self._json(start_response, "400 Bad Request", {"error": str(err)})
        except Exception as err:  # the page must get an answer it can show, and the server must live on
            log.exception("demo request %s %s failed", method, path)
            return self._json(
                start_response,
                "500 Internal Server Error",
                {"error": f"internal error ({type(err).__name__}: {err}); see the server log."},
            )

    def info(self) -> dict:
        c = self.tokenizer.config
        return {
            "model": self.tokenizer.name,
            "streams": list(c.streams),
            "vocab_sizes": c.vocab_sizes(),
            "acoustic_layers": c.acoustic_layers,
            "sample_rate": c.sample_rate,
            "frame_rate": c.frame_rate,
            "bitrate": c.bitrate,
            "max_upload_bytes": self.max_upload_bytes,
            "max_seconds": self.max_seconds,
        }

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise DemoRequestError("405 Method Not Allowed", f"use {allowed} here, not {method}.")

    def _files(self, environ: dict) -> dict[str, Upload]:
        """The parts of a ``multipart/form-data`` body by field name; its size is checked before it is read."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise DemoRequestError("411 Length Required", "send the upload with a Content-Length header.") from None
        if length > self.max_upload_bytes:
            raise DemoRequestError(
                "413 Content Too Large",
                f"the upload is {length / 2**20:.1f} MB; this demo takes at most {self.max_upload_bytes / 2**20:g} MB. "
                "Upload a shorter clip, or restart the demo with a larger --max-upload-mb.",
            )
        content_type = environ.get("CONTENT_TYPE", "")
        if not content_type.startswith("multipart/form-data"):
            raise DemoRequestError(
                "400 Bad Request",
                f"send multipart/form-data (a browser form), not {content_type or 'no content type'}.",
            )
        body = environ["wsgi.input"].read(length)
        # The email package parses multipart bodies byte-exactly (cgi, its old parser, is gone from Python 3.13).
        message = BytesParser(policy=policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
        )
        if not message.is_multipart():
            raise DemoRequestError(
                "400 Bad Request", "the multipart body could not be parsed; send the form as the browser builds it."
            )
        files = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                files[name] = Upload(part.get_filename() or name, part.get_payload(decode=True) or b"")
        return files

    @staticmethod
    def _field(files: dict[str, Upload], name: str) -> Upload:
        if name not in files:
            raise DemoRequestError("400 Bad Request", f"the form has no {name!r} file; choose an audio file to upload.")
        return files[name]

    @staticmethod
    def _respond(start_response: StartResponse, status: str, content_type: str, body: bytes) -> list[bytes]:
        start_response(
            status, [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        )
        return [body]

    def _json(self, start_response: StartResponse, status: str, payload: dict) -> list[bytes]:
        return self._respond(start_response, status, "application/json", json.dumps(payload).encode())


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a browser's keep-alive connection must not keep the process alive after Ctrl-C


class _LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the base class's signature
        log.info("%s %s", self.address_string(), format % args)


def make_demo_server(app: DemoApp, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> WSGIServer:
    """A threaded HTTP server for ``app`` bound to ``host:port`` (port 0: any free port; see ``server_port``).

    Raises :class:`HACError` if the address cannot be bound (port in use, host not of this machine).
    """
    try:
        return make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_LoggingHandler)
    except OSError as err:
        raise HACError(
            f"cannot serve the demo on {host}:{port} ({err.strerror or err}); pass another --port or --host."
        ) from err


def serve(app: DemoApp, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve ``app`` until Ctrl-C, after printing its address on stderr (port 0: a free port, printed)."""
    server = make_demo_server(app, host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: anyone who can reach this address can run the model on what they upload.", host)
    url_host = f"[{host}]" if ":" in host else host
    print(
        f"hac-tokenizer demo of {app.tokenizer.name}: http://{url_host}:{server.server_port}/ (Ctrl-C stops it)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
