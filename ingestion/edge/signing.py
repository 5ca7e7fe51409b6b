"""HMAC-SHA256 webhook signatures: `X-Accfb-Signature: v1=<hex>` over `<timestamp>.<body>`.

Signing the timestamp with the body lets the receiver refuse replays of an old, validly
signed request (outside ``tolerance_seconds``) without keeping any state.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "x-accfb-signature"
TIMESTAMP_HEADER = "x-accfb-timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(
    secrets: bytes | Sequence[bytes],
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True only for a signature made with one of ``secrets`` (the current key and, during a
    rotation, the previous one) over this body, recently. Never raises on what a caller sent."""
    keys = [secrets] if isinstance(secrets, bytes) else [k for k in secrets if k]
    if not keys or not keys[0] or not signature or not timestamp:
        return False
    # ASCII digits only: int() also reads other scripts' digits and surrounding spaces.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    sent_at = int(timestamp)
    if abs(now - sent_at) > tolerance_seconds:
        return False
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str, which would answer a
    # forged header with a 5xx instead of a 401. The header may carry several signatures
    # during a secret rotation: any valid one is accepted.
    offered = [
        part.strip().encode("utf-8", errors="surrogateescape") for part in signature.split(",")
    ]
    expected = [sign(key, sent_at, body).encode() for key in keys]
    return any(hmac.compare_digest(e, o) for e in expected for o in offered)
