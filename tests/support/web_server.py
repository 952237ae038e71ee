"""A real HTTP server for browser tests: the Flask app in a background thread on 127.0.0.1:<ephemeral>."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def serve(flask_app: Flask) -> Iterator[str]:
    """Yield the base URL once /healthz answers; shut the server down afterwards."""
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="web-test-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        # The socket is already listening, so this first request is the readiness check itself.
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            assert r.status == 200
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
