"""HTTPS served by Ingot itself: the server's TLS context from ``Settings.tls_cert``/``tls_key``
(the embedded server uses it; gunicorn reads the same two files as certfile/keyfile), and the client context
that trusts exactly that certificate (the embedded server's simulated hosts use it)."""
from __future__ import annotations

import re
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


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def pinned_client_context(cert_file: str) -> ssl.SSLContext:
    """A client context that trusts one certificate, the first of the PEM file ``cert_file`` (the server's own,
    before any chain), and nothing else, whatever names it holds: the certificate is the identity, as a host
    given the server's certificate in its image would check it. A self-signed certificate, one whose issuer the
    file leaves out, or one that does not name the address it is reached at all verify; any other does not.

    Raises:
        ValueError: the file holds no PEM certificate (the message names INGOT_TLS_CERT).
    """
    try:
        found = _PEM_CERTIFICATE.search(Path(cert_file).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"INGOT_TLS_CERT: cannot read {cert_file} ({exc})") from None
    if found is None:
        raise ValueError(f"INGOT_TLS_CERT: no PEM certificate in {cert_file}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # the pinned certificate is what is checked, not a name a CA vouches for
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the certificate itself anchors the chain
    context.load_verify_locations(cadata=found.group(0))
    return context
