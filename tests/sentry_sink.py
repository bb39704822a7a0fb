"""A local HTTP sink standing in for the Sentry server: tests point a DSN at it and read what the
SDK sent (envelopes, gunzipped)."""

from __future__ import annotations

import gzip
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def sentry_sink(tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """Yields (dsn, bodies received so far); with ``tls`` (a server context), over HTTPS."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            received.append(body)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "http" if tls is None else "https"
    try:
        yield f"{scheme}://public@127.0.0.1:{server.server_port}/1", received
    finally:
        server.shutdown()
        server.server_close()
