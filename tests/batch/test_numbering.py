"""Redshift's batch loads take each CSV record's file row from a numbered copy of the export.

COPY keeps no line number and `row_number() over ()` has no defined order on Redshift, so the
loader writes each export version once with its records numbered (ingestion/batch/numbering.py),
as a CSV reader counts them: the number DuckDB's load gives the same file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from ingestion.batch.numbering import lines, numbered_copy, numbered_key, numbered_records
from ingestion.config import aws
from ingestion.config.settings import Settings

EXPORT = (
    b"donor_id,name,email\r\n"
    b'd-1,"Ann\nLee",ann@example.org\r\n'
    b"\r\n"
    b'd-2,"Bo ""B"", Jr",bo@example.org\r\n'
    b"d-3,Cy,cy@example.org"
)


def test_each_record_is_led_by_its_file_row_as_a_csv_reader_counts_it() -> None:
    # Split mid-CRLF and mid-field: chunk edges change nothing.
    chunks = [EXPORT[:20], EXPORT[20:37], EXPORT[37:]]

    numbered = b"".join(numbered_records(lines(chunks)))

    rows = list(csv.DictReader(io.StringIO(numbered.decode(), newline="")))
    assert [(r["source_row_number"], r["donor_id"], r["name"]) for r in rows] == [
        ("1", "d-1", "Ann\nLee"),
        ("2", "d-2", 'Bo "B", Jr'),
        ("3", "d-3", "Cy"),
    ]


def test_the_numbers_are_the_rows_duckdb_reads_from_the_same_file(tmp_path: Path) -> None:
    export, numbered = tmp_path / "export.csv", tmp_path / "numbered.csv"
    export.write_bytes(EXPORT)
    numbered.write_bytes(b"".join(numbered_records(lines([EXPORT]))))
    con = duckdb.connect()

    local = con.execute(
        f"select row_number() over (), donor_id from read_csv('{export}', header = true)"
    ).fetchall()
    copied = con.execute(
        f"select source_row_number, donor_id from read_csv('{numbered}', header = true)"
    ).fetchall()

    assert copied == local


def test_the_numbered_copy_is_written_once_per_version(provisioned: Settings) -> None:
    s3 = aws.client("s3", provisioned)
    bucket, key = provisioned.raw_bucket, "landing/crm/donors_2026-11-20.csv"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=EXPORT)["ETag"].strip('"')

    first = numbered_copy(s3, bucket, "crm", key, etag)
    written = s3.head_object(Bucket=bucket, Key=first)["LastModified"]
    again = numbered_copy(s3, bucket, "crm", key, etag)

    assert first == again == numbered_key("crm", key, etag)
    assert first.startswith("manifests/batch/crm/numbered/")
    assert s3.head_object(Bucket=bucket, Key=again)["LastModified"] == written
    body = s3.get_object(Bucket=bucket, Key=first)["Body"].read()
    assert body.startswith(b"source_row_number,donor_id,name,email\r\n1,d-1,")
    assert body.count(b"\n3,d-3,") == 1
