"""The one keyed hash of personal data: HMAC-SHA256 of the normalised value."""

from __future__ import annotations

import hashlib
import hmac

# The SQL name both warehouses give the function (macros/pii/pii_hash.sql calls it).
# Every model that stores a keyed hash, and what reads it: what a key rotation rebuilds.
HASHED_MODELS = "dim_donors+"
SQL_FUNCTION = "f_accfb_pii_hmac"  # f_: the prefix Redshift keeps for user functions


def normalised(value: str) -> str:
    """One spelling per email: `Ana@Example.org ` and `ana@example.org` are the same donor."""
    return value.strip().lower()


def keyed_hash(key: bytes, value: str | None) -> str | None:
    """Lower-case hex HMAC-SHA256 of the normalised value under ``key``; null stays null."""
    if value is None:
        return None
    return hmac.new(key, normalised(value).encode(), hashlib.sha256).hexdigest()
