"""The audit export on the real path: a closed day's files in the (object-locked) local audit
bucket, verified against the warehouse, written once, and a tampered file caught."""

from __future__ import annotations

from datetime import date

import duckdb
from typer.testing import CliRunner

from ingestion.batch.loads import load_batches
from ingestion.cli import app
from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.operations.audit import FILES, export, prefix, verify
from ingestion.operations.close import close
from tests.marts.support import corpus, drop_settlement_export
from tests.operations.test_reconcile_and_trace import _env
from tests.support import build, land, publish, query

DAY = date(2026, 11, 20)


def _versions(settings: Settings) -> list[tuple[str, str]]:
    listed = aws.client("s3", settings).list_object_versions(Bucket=settings.audit_bucket)
    return sorted((v["Key"], v["VersionId"]) for v in listed.get("Versions", []))


def test_a_closed_day_is_exported_once_verified_and_a_tampered_file_is_caught(
    provisioned: Settings,
) -> None:
    settings = provisioned.model_copy(update={"audit_bucket": f"{provisioned.raw_bucket}-audit"})
    records = corpus()
    publish(settings, records)
    land(settings)
    drop_settlement_export(settings, records)
    load_batches(settings, ["settlements"])
    build(settings)
    close(settings, DAY)

    report = export(settings, DAY)

    assert report.written
    assert report.prefix == prefix(DAY, 0)
    files = report.manifest["files"]
    assert set(files) == set(FILES)
    [(entries, net)] = query(
        settings,
        "select count(*), sum(amount_cents) filter (where entry_type <> 'fee') "
        f"from marts.fct_donation_ledger where entry_date = '{DAY}'",
    )
    assert files["ledger"]["totals"]["rows"] == entries > 0
    assert files["close"]["totals"]["net_amount_cents"] == net
    assert report.manifest["git_revision"] and report.manifest["revision"] == 0
    assert report.manifest["dbt_invocation_id"]
    assert all(len(o["sha256"]) == 64 for f in files.values() for o in f["objects"])
    lock = aws.client("s3", settings).get_object_lock_configuration(Bucket=settings.audit_bucket)
    assert lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    checks = verify(settings, DAY)
    assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
    # The file holds the ledger's rows themselves, readable by any Parquet reader.
    ledger_key = files["ledger"]["objects"][0]["key"]
    table = duckdb.sql(
        "select count(*) from read_parquet(?)", params=[_local_copy(settings, ledger_key)]
    )
    assert table.fetchone() == (entries,)

    # Again: the manifest is there, so nothing is written (no new object version either).
    versions = _versions(settings)
    again = export(settings, DAY)
    assert not again.written and again.manifest == report.manifest
    assert _versions(settings) == versions
    cli = CliRunner().invoke(app, ["audit", "verify", "--date", str(DAY)], env=_cli_env(settings))
    assert cli.exit_code == 0, cli.output

    # Someone puts a changed ledger over the key (a new version: the locked one stays).
    tampered = duckdb.sql(
        "select * replace (amount_cents + 1 as amount_cents) from read_parquet(?)",
        params=[_local_copy(settings, ledger_key)],
    )
    out = settings.state_dir / "tampered.parquet"
    tampered.write_parquet(str(out))
    aws.client("s3", settings).put_object(
        Bucket=settings.audit_bucket, Key=ledger_key, Body=out.read_bytes()
    )
    differing = [c.check for c in verify(settings, DAY) if not c.ok]
    assert f"{ledger_key} sha256" in differing
    assert "ledger gift_cents: file" in differing
    cli = CliRunner().invoke(app, ["audit", "verify", "--date", str(DAY)], env=_cli_env(settings))
    assert cli.exit_code == 1
    assert "DIFFERS" in cli.output


def _local_copy(settings: Settings, key: str) -> str:
    """The object's current version, as a local file a Parquet reader opens."""
    body = aws.client("s3", settings).get_object(Bucket=settings.audit_bucket, Key=key)["Body"]
    path = settings.state_dir / f"{key.replace('/', '_')}.{len(_versions(settings))}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.read())
    return str(path)


def _cli_env(settings: Settings) -> dict[str, str]:
    return {**_env(settings), "ACCFB_AUDIT_BUCKET": settings.audit_bucket}


def test_an_unclosed_day_is_refused_and_a_day_never_exported_fails_verify(
    provisioned: Settings,
) -> None:
    settings = provisioned.model_copy(update={"audit_bucket": f"{provisioned.raw_bucket}-audit"})
    publish(settings, corpus()[:200])
    land(settings)
    build(settings)
    env = _cli_env(settings)

    refused = CliRunner().invoke(app, ["audit", "export", "--date", str(DAY)], env=env)
    assert refused.exit_code == 1 and "not closed" in refused.output
    close(settings, DAY)
    missing = CliRunner().invoke(app, ["audit", "verify", "--date", str(DAY)], env=env)
    assert missing.exit_code == 1 and "manifest.json" in missing.output
