"""HTTPS served by Ingot itself: the server's TLS context from ``Settings.tls_cert``/``tls_key``
(the embedded server uses it; gunicorn reads the same two files as certfile/keyfile)."""
from __future__ import annotations

import ssl
from pathlib import Path

from api.core.config import Settings


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """A TLS server context for the certificate and key files, or None when neither is set.

    Raises:
        ValueError: only one of the two is set, a file is missing, or they do not load
        (the message names INGOT_TLS_CERT / INGOT_TLS_KEY).
    """
    cert, key = settings.tls_cert, settings.tls_key
    if not cert and not key:
        return None
    if not cert or not key:
        raise ValueError("HTTPS needs both a certificate and its key (--tls-cert and --tls-key, "
                         "INGOT_TLS_CERT and INGOT_TLS_KEY)")
    for name, path in (("INGOT_TLS_CERT", cert), ("INGOT_TLS_KEY", key)):
        if not Path(path).is_file():
            raise ValueError(f"{name}: no such file {path}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"INGOT_TLS_CERT/INGOT_TLS_KEY: cannot load the certificate and key ({exc})") from None
    return context
