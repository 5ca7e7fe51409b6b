"""The Redshift side of ``f_accfb_pii_hmac``: a scalar Lambda UDF that holds the key.

Redshift sends batches of rows (``arguments``: one list per row, here one value) and expects
``{"success": true, "results": [...]}`` as JSON, one result per row in order. The key is the
secret ``PII_HASH_KEY_SECRET_ARN`` names, read once per Lambda container: a rotation publishes
a new configuration (docs/runbooks.md, "Rotating the PII hash key"), so every container after
it reads the new key and none mixes two in one build. Standard library and boto3 only.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from ingestion.pii.keyed_hash import keyed_hash

KEY_SECRET_ENV = "PII_HASH_KEY_SECRET_ARN"  # noqa: S105 - the name of a variable holding an ARN


@cache
def _key(secret_arn: str) -> bytes:
    import boto3

    secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)
    return str(secret["SecretString"]).encode()


def hash_rows(key: bytes, event: dict[str, Any]) -> str:
    """The response to one batch: each row's first argument hashed, null kept null."""
    results = [keyed_hash(key, row[0]) for row in event["arguments"]]
    return json.dumps({"success": True, "num_records": len(results), "results": results})


def handler(event: dict[str, Any], _context: object) -> str:
    try:
        key = _key(os.environ[KEY_SECRET_ENV])
    except Exception as failed:  # noqa: BLE001 - Redshift shows error_msg to the query
        # The reason, never the key or the rows: this text reaches the failing query's error.
        return json.dumps({"success": False, "error_msg": f"PII key unavailable: {failed}"})
    return hash_rows(key, event)
