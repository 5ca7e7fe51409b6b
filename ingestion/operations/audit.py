"""The 7-year audit record: each closed day's finance facts, exported once and verifiable.

`accfb audit export --date D [--revision R]` writes the day's ledger entries, reconciliation
legs and close revisions 0..R to the audit bucket (infra/stacks/audit.py: object lock in
compliance mode, 7 years) as Parquet, through the dbt operation ``audit_export``
(macros/finance/audit_export.sql: Redshift UNLOAD in AWS; locally DuckDB's COPY, uploaded here
with each object's SHA-256, which an object-locked bucket requires of a PUT), under
``finance/close_date=D/revision=R/`` (R: the newest revision unless given). The files hold
exactly what revision R signed: the operation compares, in the transaction that writes them,
the figures the files compute with the sum of revisions <= R, and refuses, naming each
difference, when the live day has moved (then `accfb close` records the move as a new
revision, which is exported instead). Then the manifest: every object's SHA-256, row count and
totals in cents, the signed figures, the dbt invocation and the git revision that produced
them. The manifest is written last, so its presence means a whole export; an export whose
manifest exists writes nothing, and each revision has its own prefix, so nothing is ever
overwritten.

`accfb audit verify --date D [--revision R]` checks a package from the bucket alone (any
revision, no warehouse needed): the objects against the manifest (checksums, the files it
names, totals), and the figures the ledger and reconciliation files add up to against the
revisions the close file carries. Then, separately, whether the warehouse still agrees: the
same selections' totals, and the live day against revisions <= R, with any later revisions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
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
from ingestion.operations.close import CLOSED_DAYS, Revision, revisions, rows

FILES = ("ledger", "reconciliation", "close")
# The close figures (close_figures() in macros/finance/close.sql), each signed by a revision.
FIGURES = (
    "gift_count",
    "refund_count",
    "gross_amount_cents",
    "refunded_amount_cents",
    "fee_cents",
    "net_amount_cents",
    "settled_net_cents",
)
# Each file's rows in the warehouse: the same selection as macros/finance/audit_export.sql's
# audit_queries (verify proves the two agree on every export it passes). The `?` are the day,
# and for the close the revision.
WAREHOUSE_ROWS = {
    "ledger": "select * from marts.fct_donation_ledger where entry_date = ?",
    "reconciliation": (
        "select * from marts.rpt_settlement_reconciliation "
        "where cast(coalesce(donated_at, settled_at) as date) = ? "
        "or cast(settled_at as date) = ?"
    ),
    "close": f"select * from {CLOSED_DAYS} where close_date = ? and revision <= ?",  # noqa: S608
}


def _measures(name: str, day: date) -> dict[str, str]:
    """Totals per file, in integer cents (and counts): what the manifest carries and verify
    checks. The ledger's and the reconciliation's give the day's figures (_figures), the
    close's the sum of the revisions that signed them."""
    if name == "ledger":
        return {
            "rows": "count(*)",
            "gift_count": "sum(case when entry_type = 'gift' then 1 else 0 end)",
            "refund_count": "sum(case when entry_type = 'refund' then 1 else 0 end)",
            "gift_cents": "sum(case when entry_type = 'gift' then amount_cents else 0 end)",
            "refund_cents": "sum(case when entry_type = 'refund' then amount_cents else 0 end)",
            "fee_cents": "sum(case when entry_type = 'fee' then amount_cents else 0 end)",
        }
    if name == "reconciliation":
        return {
            "rows": "count(*)",
            "donation_gross_cents": "sum(donation_gross_cents)",
            "settlement_gross_cents": "sum(settlement_gross_cents)",
            "settlement_net_cents": "sum(settlement_net_cents)",
            "settled_net_cents": (
                f"sum(case when cast(settled_at as date) = date '{day.isoformat()}' "
                "then settlement_net_cents else 0 end)"
            ),
            "unreconciled": (
                "sum(case when reconciliation_status not in ('matched', 'pending') "
                "then 1 else 0 end)"
            ),
        }
    return {
        "rows": "count(*)",
        "newest_revision": "max(revision)",
        **{figure: f"sum({figure})" for figure in FIGURES},
    }


def _figures(totals: dict[str, dict[str, int]]) -> dict[str, int]:
    """The day's close figures as the ledger and reconciliation files compute them: the same
    sums as rpt_daily_close, and as audit_figure_sources() in macros/finance/audit_export.sql,
    which refuses an export whose files would differ from its revisions."""
    ledger, reconciliation = totals["ledger"], totals["reconciliation"]
    return {
        "gift_count": ledger["gift_count"],
        "refund_count": ledger["refund_count"],
        "gross_amount_cents": ledger["gift_cents"],
        "refunded_amount_cents": -ledger["refund_cents"],
        "fee_cents": -ledger["fee_cents"],
        "net_amount_cents": ledger["gift_cents"] + ledger["refund_cents"],
        "settled_net_cents": reconciliation["settled_net_cents"],
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


@dataclass(frozen=True)
class Verification:
    """One exported revision checked: ``package`` from the bucket alone (the objects against
    the manifest, and the figures the files compute against the revisions they carry);
    ``warehouse`` whether the warehouse still agrees (None: not consulted), with the
    revisions recorded after this one, which explain a day that moved since."""

    prefix: str
    revision: int | None
    package: list[Check]
    warehouse: list[Check] | None = None
    later: tuple[Revision, ...] = ()

    @property
    def intact(self) -> bool:
        return all(c.ok for c in self.package)

    @property
    def warehouse_agrees(self) -> bool:
        return self.warehouse is None or all(c.ok for c in self.warehouse)


def prefix(day: date, revision: int) -> str:
    return f"{day_prefix(day)}/revision={revision}"


def day_prefix(day: date) -> str:
    return f"finance/close_date={day.isoformat()}"


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


def _select(name: str, day: date) -> str:
    measures = _measures(name, day)
    return ", ".join(f"coalesce({sql}, 0)" for sql in measures.values())


def _warehouse_totals(settings: Settings, name: str, day: date, revision: int) -> dict[str, int]:
    params: dict[str, list[Any]] = {
        "ledger": [day],
        "reconciliation": [day, day],
        "close": [day, revision],
    }
    sql = f"select {_select(name, day)} from ({WAREHOUSE_ROWS[name]}) as audited"  # noqa: S608
    [row] = rows(settings, sql, params[name])
    return {label: int(value) for label, value in zip(_measures(name, day), row, strict=True)}


def _file_facts(s3: Any, bucket: str, keys: list[str], name: str, day: date) -> dict[str, Any]:
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
        if not paths:
            return {"objects": [], "totals": {}}
        with duckdb.connect() as con:
            sql = f"select {_select(name, day)} from read_parquet(?) as audited"  # noqa: S608
            row = con.execute(sql, [paths]).fetchone()
    if row is None:
        raise AuditRefused(f"no totals for {name}")
    totals = {label: int(value) for label, value in zip(_measures(name, day), row, strict=True)}
    return {"objects": objects, "totals": totals}


def _run_export(settings: Settings, day: date, revision: int, prefix_url: str) -> None:
    args = {"close_date": day.isoformat(), "revision": revision, "prefix_url": prefix_url}
    try:
        dbt.run_dbt(settings, ["run-operation", "audit_export", "--args", json.dumps(args)])
    except dbt.DbtError as error:
        refused = re.search(r"the live day differs from revisions <= \d+: [^\n]*", error.detail)
        if refused is None:
            raise
        raise AuditRefused(refused.group(0)) from None


def _figure_differences(expected: dict[str, int], found: dict[str, int]) -> str:
    return "; ".join(
        f"{figure} is {found[figure]} in the files, {expected[figure]} signed "
        f"({found[figure] - expected[figure]:+d})"
        for figure in FIGURES
        if expected[figure] != found[figure]
    )


def export(settings: Settings, day: date, revision: int | None = None) -> ExportReport:
    """Write the day's close revision ``revision`` (None: the newest) to the audit bucket, once,
    holding exactly the figures revisions 0..R signed: refused, naming the difference, when the
    live day no longer adds up to them."""
    closed = revisions(settings, day)
    if not closed:
        raise AuditRefused(f"{day} is not closed: `accfb close --date {day}` first")
    newest = max(r.revision for r in closed)
    revision = newest if revision is None else revision
    if revision not in {r.revision for r in closed}:
        raise AuditRefused(f"{day} has no close revision {revision}: revisions 0..{newest}")
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
    try:
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
    except AuditRefused as refused:
        then = (
            f"`accfb close` records the change as revision {newest + 1}; export that"
            if revision == newest
            else f"revision {revision} can no longer be written as it was signed; "
            f"revisions up to {newest} are recorded: export the newest"
        )
        raise AuditRefused(
            f"{day} revision {revision}: {refused}. Nothing written: {then} "
            "(docs/runbooks.md#audit-export-refused)"
        ) from None
    written = _objects(s3, settings.audit_bucket, under)
    files = {
        name: _file_facts(
            s3,
            settings.audit_bucket,
            [k for k in written if k.split("/")[-1].startswith(name)],
            name,
            day,
        )
        for name in FILES
    }
    totals = {name: facts["totals"] for name, facts in files.items()}
    signed = {figure: totals["close"][figure] for figure in FIGURES}
    # The transaction made this so; a package that says otherwise gets no manifest.
    differences = _figure_differences(signed, _figures(totals))
    if differences:
        raise AuditRefused(
            f"s3://{settings.audit_bucket}/{under}/: {differences}; no manifest written, see "
            "docs/runbooks.md#audit-export-incomplete"
        )
    manifest = {
        "close_date": day.isoformat(),
        "revision": revision,
        "exported_at": datetime.now(UTC).isoformat(),
        "dbt_invocation_id": _invocation_id(settings),
        "git_revision": _git_revision(),
        "figures": signed,
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


def exported_revisions(settings: Settings, day: date) -> list[int]:
    """The day's revisions whose export is whole (its manifest is there), from the bucket."""
    s3 = aws.client("s3", settings)
    found = re.compile(rf"^{re.escape(day_prefix(day))}/revision=(\d+)/manifest\.json$")
    try:
        keys = _objects(s3, settings.audit_bucket, day_prefix(day))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return []
        raise
    return sorted(int(match.group(1)) for key in keys if (match := found.match(key)))


def _package_checks(s3: Any, bucket: str, day: date, revision: int) -> list[Check]:
    under = prefix(day, revision)
    try:
        body = s3.get_object(Bucket=bucket, Key=f"{under}/manifest.json")["Body"].read()
    except ClientError:
        return [Check(f"{under}/manifest.json", "exported", "missing")]
    manifest = json.loads(body)
    present = [k for k in _objects(s3, bucket, under) if not k.endswith("manifest.json")]
    checks = [
        Check(
            "manifest names",
            f"{day} revision {revision}",
            f"{manifest.get('close_date')} revision {manifest.get('revision')}",
        ),
        Check(
            "objects",
            ", ".join(sorted(o["key"] for f in manifest["files"].values() for o in f["objects"])),
            ", ".join(present),
        ),
    ]
    found_totals: dict[str, dict[str, int]] = {}
    for name in FILES:
        recorded = manifest["files"][name]
        keys = [o["key"] for o in recorded["objects"]]
        found = _file_facts(s3, bucket, [k for k in keys if k in present], name, day)
        found_totals[name] = found["totals"]
        digests = {o["key"]: o["sha256"] for o in found["objects"]}
        for o in recorded["objects"]:
            checks.append(
                Check(f"{o['key']} sha256", o["sha256"], digests.get(o["key"], "missing"))
            )
        for label, value in recorded["totals"].items():
            checks.append(
                Check(f"{name} {label}: file", str(value), str(found["totals"].get(label)))
            )
    if any(not totals for totals in found_totals.values()):
        return checks
    # The package is self-consistent: the close file carries revisions 0..R, and what they
    # signed is what the ledger and reconciliation files add up to.
    close = found_totals["close"]
    checks.append(
        Check(
            "close revisions in the file",
            f"0..{revision}",
            f"0..{close['newest_revision']}"
            if close["rows"] == close["newest_revision"] + 1
            else f"{close['rows']} rows, newest {close['newest_revision']}",
        )
    )
    computed = _figures(found_totals)
    for figure in FIGURES:
        checks.append(
            Check(
                f"{figure}: files = revisions <= {revision}",
                str(close[figure]),
                str(computed[figure]),
            )
        )
        if "figures" in manifest:
            checks.append(
                Check(f"{figure}: manifest", str(manifest["figures"][figure]), str(close[figure]))
            )
    return checks


def _warehouse_checks(
    settings: Settings, manifest: dict[str, Any], day: date, revision: int
) -> list[Check]:
    checks = []
    for name in FILES:
        warehouse = _warehouse_totals(settings, name, day, revision)
        for label, value in manifest["files"][name]["totals"].items():
            checks.append(
                Check(f"{name} {label}: warehouse", str(value), str(warehouse.get(label)))
            )
    signed = {figure: manifest["files"]["close"]["totals"].get(figure) for figure in FIGURES}
    live = rows(
        settings,
        f"select {', '.join(FIGURES)} from marts.rpt_daily_close where close_date = ?",  # noqa: S608
        [day],
    )
    for figure, value in zip(FIGURES, live[0] if live else [0] * len(FIGURES), strict=True):
        checks.append(
            Check(f"live {figure} = revisions <= {revision}", str(signed[figure]), str(value))
        )
    return checks


def verify(
    settings: Settings, day: date, revision: int | None = None, *, warehouse: bool = True
) -> Verification:
    """Check the day's export of ``revision`` (None: the newest exported): the package against
    its manifest alone, then (``warehouse``) whether the warehouse still agrees with it."""
    s3 = aws.client("s3", settings)
    if revision is None:
        exported = exported_revisions(settings, day)
        if not exported:
            missing = f"{day_prefix(day)}/revision=*/manifest.json"
            return Verification(day_prefix(day), None, [Check(missing, "exported", "missing")])
        revision = exported[-1]
    under = prefix(day, revision)
    package = _package_checks(s3, settings.audit_bucket, day, revision)
    if not warehouse or package[0].found == "missing":
        return Verification(under, revision, package)
    manifest = json.loads(
        s3.get_object(Bucket=settings.audit_bucket, Key=f"{under}/manifest.json")["Body"].read()
    )
    later = tuple(r for r in revisions(settings, day) if r.revision > revision)
    return Verification(
        under, revision, package, _warehouse_checks(settings, manifest, day, revision), later
    )
