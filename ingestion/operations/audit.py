"""The 7-year audit record: each closed day's finance facts, exported once and verifiable.

`accfb audit export --date D` writes the day's ledger entries, reconciliation legs and close
revisions to the audit bucket (infra/stacks/audit.py: object lock in compliance mode, 7 years)
as Parquet, through the dbt operation ``audit_export`` (macros/finance/audit_export.sql:
Redshift UNLOAD in AWS; locally DuckDB's COPY, uploaded here with each object's SHA-256, which
an object-locked bucket requires of a PUT), under
``finance/close_date=D/revision=R/``, R being the day's newest close revision. Then the manifest:
every object's SHA-256, row count and totals in cents, the dbt invocation and the git revision
that produced them. The manifest is written last, so its presence means a whole export; an
export whose manifest exists writes nothing, and an adjustment of the day (a new revision) goes
to a new prefix beside the old, so nothing is ever overwritten.

`accfb audit verify --date D` reads the objects back, recomputes checksums and totals, and
compares them with the manifest and with the warehouse (and the close's net with the ledger's):
any difference fails it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
from botocore.exceptions import ClientError

from ingestion.config import aws, dbt, s3_access
from ingestion.config.constants import RETENTION
from ingestion.config.settings import REPO_ROOT, Settings
from ingestion.operations.close import CLOSED_DAYS, revisions, rows

FILES = ("ledger", "reconciliation", "close")
# Each file's rows in the warehouse: the same selection as macros/finance/audit_export.sql's
# audit_queries (verify proves the two agree on every export it passes).
WAREHOUSE_ROWS = {
    "ledger": "select * from marts.fct_donation_ledger where entry_date = ?",
    "reconciliation": (
        "select * from marts.rpt_settlement_reconciliation "
        "where cast(coalesce(donated_at, settled_at) as date) = ?"
    ),
    "close": f"select * from {CLOSED_DAYS} where close_date = ? and revision <= ?",  # noqa: S608
}
# Totals per file, in integer cents (and counts): what the manifest carries and verify checks.
TOTALS = {
    "ledger": {
        "rows": "count(*)",
        "gift_cents": "sum(case when entry_type = 'gift' then amount_cents else 0 end)",
        "refund_cents": "sum(case when entry_type = 'refund' then amount_cents else 0 end)",
        "fee_cents": "sum(case when entry_type = 'fee' then amount_cents else 0 end)",
    },
    "reconciliation": {
        "rows": "count(*)",
        "donation_gross_cents": "sum(donation_gross_cents)",
        "settlement_gross_cents": "sum(settlement_gross_cents)",
        "settlement_net_cents": "sum(settlement_net_cents)",
        "unreconciled": (
            "sum(case when reconciliation_status not in ('matched', 'pending') then 1 else 0 end)"
        ),
    },
    "close": {
        "rows": "count(*)",
        "gross_amount_cents": "sum(gross_amount_cents)",
        "refunded_amount_cents": "sum(refunded_amount_cents)",
        "net_amount_cents": "sum(net_amount_cents)",
        "gift_count": "sum(gift_count)",
    },
}


class AuditRefused(RuntimeError):
    """The export cannot be written or verified; the message says why."""


@dataclass(frozen=True)
class ExportReport:
    prefix: str
    written: bool  # False: the manifest was there already, nothing was written
    manifest: dict[str, Any]


@dataclass(frozen=True)
class Check:
    check: str
    expected: str
    found: str

    @property
    def ok(self) -> bool:
        return self.expected == self.found


def prefix(day: date, revision: int) -> str:
    return f"finance/close_date={day.isoformat()}/revision={revision}"


def ensure_bucket(settings: Settings) -> None:
    """Locally, the audit bucket as the audit stack makes it: versioned, object lock in
    compliance mode for the retention. In AWS the stack owns it; this only checks it exists."""
    s3 = aws.client("s3", settings)
    try:
        s3.head_bucket(Bucket=settings.audit_bucket)
        return
    except ClientError as exc:
        if settings.aws_endpoint_url is None:
            raise AuditRefused(
                f"audit bucket {settings.audit_bucket} is not reachable: {exc}"
            ) from None
    s3.create_bucket(
        Bucket=settings.audit_bucket,
        CreateBucketConfiguration={"LocationConstraint": settings.aws_region},
        ObjectLockEnabledForBucket=True,
    )
    s3.put_object_lock_configuration(
        Bucket=settings.audit_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": RETENTION.audit_days}},
        },
    )


def _git_revision() -> str:
    if os.environ.get("ACCFB_GIT_REVISION"):
        return os.environ["ACCFB_GIT_REVISION"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607  (git from PATH)
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _invocation_id(settings: Settings) -> str | None:
    results = settings.dbt_target_dir / "run_results.json"
    if not results.exists():
        return None
    invocation = json.loads(results.read_text()).get("metadata", {}).get("invocation_id")
    return str(invocation) if invocation else None


def _objects(s3: Any, bucket: str, under: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{under}/")
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _totals(
    con: duckdb.DuckDBPyConnection, name: str, relation: str, params: list[Any]
) -> dict[str, int]:
    measures = TOTALS[name]
    select = ", ".join(f"coalesce({sql}, 0)" for sql in measures.values())
    row = con.execute(f"select {select} from ({relation}) as audited", params).fetchone()  # noqa: S608
    if row is None:
        raise AuditRefused(f"no totals for {name}")
    return {label: int(value) for label, value in zip(measures, row, strict=True)}


def _warehouse_totals(settings: Settings, name: str, day: date, revision: int) -> dict[str, int]:
    measures = TOTALS[name]
    select = ", ".join(f"coalesce({sql}, 0)" for sql in measures.values())
    params: list[Any] = [day, revision] if name == "close" else [day]
    sql = f"select {select} from ({WAREHOUSE_ROWS[name]}) as audited"  # noqa: S608
    [row] = rows(settings, sql, params)
    return {label: int(value) for label, value in zip(measures, row, strict=True)}


def _file_facts(s3: Any, bucket: str, keys: list[str], name: str) -> dict[str, Any]:
    """Checksums and totals of one file's objects, read back from the bucket."""
    objects = []
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for n, key in enumerate(keys):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            path = Path(scratch) / f"{n}.parquet"
            path.write_bytes(body)
            paths.append(str(path))
            objects.append(
                {"key": key, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
            )
        with duckdb.connect() as con:
            totals = _totals(con, name, "select * from read_parquet(?)", [paths])
    return {"objects": objects, "totals": totals}


def _latest_revision(settings: Settings, day: date) -> int:
    closed = revisions(settings, day)
    if not closed:
        raise AuditRefused(f"{day} is not closed: `accfb close --date {day}` first")
    return max(r.revision for r in closed)


def _run_export(settings: Settings, day: date, revision: int, prefix_url: str) -> None:
    args = {"close_date": day.isoformat(), "revision": revision, "prefix_url": prefix_url}
    dbt.run_dbt(settings, ["run-operation", "audit_export", "--args", json.dumps(args)])


def export(settings: Settings, day: date) -> ExportReport:
    """Write the day's newest close revision to the audit bucket, once."""
    revision = _latest_revision(settings, day)
    ensure_bucket(settings)
    s3 = aws.client("s3", settings)
    under = prefix(day, revision)
    manifest_key = f"{under}/manifest.json"
    present = _objects(s3, settings.audit_bucket, under)
    if manifest_key in present:
        manifest = json.loads(
            s3.get_object(Bucket=settings.audit_bucket, Key=manifest_key)["Body"].read()
        )
        return ExportReport(under, False, manifest)
    if present:
        raise AuditRefused(
            f"s3://{settings.audit_bucket}/{under}/ holds files but no manifest: an interrupted "
            "export, whose locked objects stay; see docs/runbooks.md#audit-export-incomplete"
        )
    if settings.dbt_target == "local":
        with tempfile.TemporaryDirectory() as scratch:
            _run_export(settings, day, revision, scratch)
            for path in sorted(Path(scratch).iterdir()):
                s3.put_object(
                    Bucket=settings.audit_bucket,
                    Key=f"{under}/{path.name}",
                    Body=path.read_bytes(),
                    ChecksumAlgorithm="SHA256",
                )
    else:
        _run_export(settings, day, revision, s3_access.s3_url(settings.audit_bucket, under))
    written = _objects(s3, settings.audit_bucket, under)
    files = {
        name: _file_facts(
            s3,
            settings.audit_bucket,
            [k for k in written if k.split("/")[-1].startswith(name)],
            name,
        )
        for name in FILES
    }
    manifest = {
        "close_date": day.isoformat(),
        "revision": revision,
        "exported_at": datetime.now(UTC).isoformat(),
        "dbt_invocation_id": _invocation_id(settings),
        "git_revision": _git_revision(),
        "files": files,
    }
    s3.put_object(
        Bucket=settings.audit_bucket,
        Key=manifest_key,
        Body=json.dumps(manifest, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
    )
    return ExportReport(under, True, manifest)


def verify(settings: Settings, day: date) -> list[Check]:
    """Every check of the day's newest export: objects against the manifest (checksums, the
    files it names), totals from the files against the manifest and the warehouse, and the
    close's net against the ledger's."""
    revision = _latest_revision(settings, day)
    s3 = aws.client("s3", settings)
    under = prefix(day, revision)
    try:
        body = s3.get_object(Bucket=settings.audit_bucket, Key=f"{under}/manifest.json")[
            "Body"
        ].read()
    except ClientError:
        return [Check(f"{under}/manifest.json", "exported", "missing")]
    manifest = json.loads(body)
    present = [
        k for k in _objects(s3, settings.audit_bucket, under) if not k.endswith("manifest.json")
    ]
    checks = [
        Check(
            "objects",
            ", ".join(sorted(o["key"] for f in manifest["files"].values() for o in f["objects"])),
            ", ".join(present),
        )
    ]
    for name in FILES:
        recorded = manifest["files"][name]
        keys = [o["key"] for o in recorded["objects"]]
        found = _file_facts(s3, settings.audit_bucket, [k for k in keys if k in present], name)
        digests = {o["key"]: o["sha256"] for o in found["objects"]}
        for o in recorded["objects"]:
            checks.append(
                Check(f"{o['key']} sha256", o["sha256"], digests.get(o["key"], "missing"))
            )
        warehouse = _warehouse_totals(settings, name, day, revision)
        for label, value in recorded["totals"].items():
            checks.append(
                Check(f"{name} {label}: file", str(value), str(found["totals"].get(label)))
            )
            checks.append(
                Check(f"{name} {label}: warehouse", str(value), str(warehouse.get(label)))
            )
    ledger, close = manifest["files"]["ledger"]["totals"], manifest["files"]["close"]["totals"]
    checks.append(
        Check(
            "close net = ledger gifts + refunds",
            str(close["net_amount_cents"]),
            str(ledger["gift_cents"] + ledger["refund_cents"]),
        )
    )
    return checks
