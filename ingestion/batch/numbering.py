"""The file row of each CSV record, for Redshift's COPY, which keeps none.

A batch export's row is known by its file and its place in it (``source_row_number``), and
finance reads that order (a settlement export lists a transaction's legs in the order they
happened). DuckDB reads a file in order, so its load numbers the rows as it reads them. Redshift
splits a load across slices and keeps no line number, and ``row_number() over ()`` there has no
defined order. So before a Redshift load the export is copied once, each record led by its
number (``source_row_number,`` and the header before it), and COPY loads the copy.

A record is counted the way a CSV reader counts it: a line break inside a quoted field belongs
to the record (RFC 4180: the quotes of a complete record are even in number). The bytes of each
record are kept as they are; blank lines are skipped, as the readers skip them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from ingestion.config.s3_access import MANIFEST_PREFIX

NUMBER_COLUMN = b"source_row_number"


def numbered_records(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The header led by the number column's name, then each record led by its number (1 for
    the first record after the header). ``lines`` keep their line endings."""
    record = b""
    number = -1
    for line in lines:
        record += line
        if record.count(b'"') % 2:
            continue  # a quoted field goes on past this line break
        if record.strip(b"\r\n"):
            number += 1
            yield (NUMBER_COLUMN if number == 0 else str(number).encode()) + b"," + record
        record = b""
    if record.strip(b"\r\n"):
        # An unclosed quote at the end: left to COPY to refuse, with its line.
        yield str(number + 1).encode() + b"," + record


def lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a byte stream, each with its ending, split at LF only (so a CRLF is never
    split across two chunks, as botocore's iter_lines can)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if pending:
        yield pending


def numbered_key(source: str, key: str, etag: str) -> str:
    """Where an export version's numbered copy lives: under the manifests, which the COPY role
    reads, named by the version, so each version is copied once."""
    return f"{MANIFEST_PREFIX}batch/{source}/numbered/{etag}/{key}"


def numbered_copy(s3: Any, bucket: str, source: str, key: str, etag: str) -> str:
    """The key of the numbered copy of ``key`` (at ``etag``), written if it is not there yet.
    Found by listing, as Airflow's role may list the bucket and write the manifests but not
    read them back; written only if absent (a second writer at once changes nothing)."""
    target = numbered_key(source, key, etag)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=target, MaxKeys=1).get("Contents", [])
    if any(item["Key"] == target for item in listed):
        return target
    body = s3.get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"]
    with tempfile.TemporaryFile() as copy:
        for record in numbered_records(lines(body.iter_chunks())):
            copy.write(record)
        copy.seek(0)
        try:
            s3.put_object(Bucket=bucket, Key=target, Body=copy, IfNoneMatch="*")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
    return target
