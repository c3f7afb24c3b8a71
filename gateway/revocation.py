"""Revocation of chargers' client certificates, for gateways that check no CRL themselves.

EMQX checks no CRL on its wss listeners (only on MQTT ssl ones), so a revoked certificate would pass its
handshake. Its HTTP authenticator can send the certificate (``${cert_pem}``): ``/gateway/auth`` looks
its serial up in the CRLs our own gateway uses (CSMS_GATEWAY_TLS_CRL). The CRL files are configuration
(trusted as such, their signatures are not checked here); they are reread when they change.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import threading

from cryptography import x509

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_crls: dict[str, tuple[tuple[float, int], x509.CertificateRevocationList | None]] = {}


def _crl(path: str) -> x509.CertificateRevocationList | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    stamp = (info.st_mtime, info.st_size)
    with _lock:
        cached = _crls.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        with open(path, "rb") as file:
            data = file.read()
        crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    except (OSError, ValueError) as exc:
        logger.error("CRL %s cannot be read (%s): certificates it would revoke are not refused", path, exc)
        crl = None
    with _lock:
        _crls[path] = (stamp, crl)
    return crl


def certificate_from_text(text: str) -> x509.Certificate | None:
    """A certificate as a gateway sends it: PEM, or PEM base64-encoded once more; None when unreadable."""
    data = text.strip().encode("ascii", "replace")
    if not data.startswith(b"-----BEGIN"):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def certificate_revoked(*, certificate: x509.Certificate, crl_files: list[str]) -> bool:
    """True when a CRL from the certificate's issuer lists its serial number."""
    for path in crl_files:
        crl = _crl(path)
        if crl is None or crl.issuer != certificate.issuer:
            continue
        if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
            return True
    return False
