"""HMAC-SHA256 webhook signatures: `X-Accfb-Signature: v1=<hex>` over `<timestamp>.<body>`.

Signing the timestamp with the body lets the receiver refuse replays of an old, validly
signed request (outside ``tolerance_seconds``) without keeping any state.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-accfb-signature"
TIMESTAMP_HEADER = "x-accfb-timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(
    secret: bytes,
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True only for a signature made with ``secret`` over this body, recently."""
    if not secret or not signature or not timestamp:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance_seconds:
        return False
    # The header may carry several signatures during a secret rotation: accept any valid one.
    expected = sign(secret, sent_at, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))
