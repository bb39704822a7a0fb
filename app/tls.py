"""The one TLS client context of a process.

Building a context loads the whole CA bundle (tens of milliseconds, far more on a loaded host), and
httpx builds one for every client or transport it creates. The app builds this one when it is
assembled and hands it to every outbound client: Stellar RPC and Horizon, callbacks and
subscription events, Sentry's transport. Verification is unchanged: certifi's bundle, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set, with hostname checks. Where a callback connects (the SSRF guard pins
the checked address) is decided by the transport's network backend, not by this context; SNI and
the certificate check still use the callback URL's hostname.
"""

from __future__ import annotations

import ssl

import httpx


def client_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
