"""A local web page to try a tokenizer: upload or record speech, see its three token streams under a spectrogram,
hear the reconstruction, each partial decode and a voice conversion.

Standard library only (``wsgiref``): ``hac-tokenizer demo`` serves it on http://127.0.0.1:8000/. From Python::

    from hac_tokenizer import HACTokenizer
    from hac_tokenizer.demo import DemoApp, make_demo_server, serve

    serve(DemoApp(HACTokenizer.from_pretrained()), port=8000)          # blocks until Ctrl-C
    server = make_demo_server(DemoApp(HACTokenizer.from_pretrained()), port=0)   # or run it yourself
"""

from .server import DEFAULT_HOST, DEFAULT_PORT, DemoApp, make_demo_server, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "DemoApp", "make_demo_server", "serve"]
