"""The exports that arrive as files: where each is dropped, and which table its rows land in.

Apart from the loads so the batch DAG can lay out a task per source at parse time without
importing the warehouse's client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# What an export's key may look like after its prefix: folders and a name of letters, digits and
# . _ = + - (each part starting with a letter or digit, so no "..", no empty part), ending .csv.
# A key is pasted into load SQL only as a quoted literal, but a key outside this pattern (a
# quote, a semicolon, a space, a control character) is refused before any SQL is written.
_KEY_PART = "[A-Za-z0-9][A-Za-z0-9._=+-]{0,199}"
KEY_PATTERN_TEXT = f"({_KEY_PART}/){{0,8}}{_KEY_PART}[.][Cc][Ss][Vv]"


@dataclass(frozen=True)
class BatchSource:
    """One kind of exported file: where it is dropped and the table its rows land in (whose
    columns, in file order, are in macros/batch/batch_landing.sql)."""

    name: str
    prefix: str
    table: str

    def key_problem(self, key: str) -> str | None:
        """Why ``key`` is not a loadable export key of this source, or None."""
        if not key.startswith(self.prefix):
            return f"the key is not under {self.prefix}"
        if re.fullmatch(KEY_PATTERN_TEXT, key.removeprefix(self.prefix), re.ASCII) is None:
            return (
                "the key is not an export name (folders and a name of letters, digits and "
                "._=+- ending .csv): renamed, it loads"
            )
        return None


BATCH_SOURCES: dict[str, BatchSource] = {
    source.name: source
    for source in (
        BatchSource(name="crm", prefix="landing/crm/", table="lander.crm_donor_exports"),
        BatchSource(
            name="settlements",
            prefix="landing/settlements/",
            table="lander.processor_settlements",
        ),
    )
}


def dropped_exports(
    s3: Any, bucket: str, source: BatchSource, since: datetime | None = None
) -> dict[str, str]:
    """The source's CSV exports in the bucket (or only those dropped at or after ``since``), by
    key, each with its ETag: what the batch ledger knows a version of an export by (an export
    rewritten under its key gets a new ETag)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source.prefix)
    return {
        item["Key"]: item["ETag"].strip('"')
        for page in pages
        for item in sorted(page.get("Contents", []), key=lambda item: item["Key"])
        if item["Key"].lower().endswith(".csv") and (since is None or item["LastModified"] >= since)
    }


def dropped_files(
    s3: Any, bucket: str, source: BatchSource, since: datetime | None = None
) -> list[str]:
    """The source's CSV exports in the bucket, or only those dropped at or after ``since``."""
    return sorted(dropped_exports(s3, bucket, source, since))
