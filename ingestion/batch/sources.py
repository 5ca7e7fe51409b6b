"""The exports that arrive as files: where each is dropped, and which table its rows land in.

Apart from the loads so the batch DAG can lay out a task per source at parse time without
importing the warehouse's client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class BatchSource:
    """One kind of exported file: where it is dropped and the table its rows land in (whose
    columns, in file order, are in macros/batch/batch_landing.sql)."""

    name: str
    prefix: str
    table: str


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


def dropped_files(
    s3: Any, bucket: str, source: BatchSource, since: datetime | None = None
) -> list[str]:
    """The source's CSV exports in the bucket, or only those dropped at or after ``since``."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=source.prefix)
    return sorted(
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"].lower().endswith(".csv") and (since is None or item["LastModified"] >= since)
    )
