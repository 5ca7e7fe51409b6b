"""The audit export on the real path: a closed day's files in the (object-locked) local audit
bucket, written once and only as the revision signed them; verified from the package alone, for
any revision, and against the warehouse apart; a tampered file caught."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest
from typer.testing import CliRunner

from ingestion.batch.loads import load_batches
from ingestion.cli import app
from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.operations.audit import FILES, AuditRefused, _objects, export, prefix, verify
from ingestion.operations.close import close
from tests.marts.support import corpus, drop_settlement_export
from tests.operations.test_close import _late_gift
from tests.operations.test_reconcile_and_trace import _env
from tests.support import build, land, publish, query
from tests.support import corpus as small_corpus

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
    found = verify(settings, DAY)
    assert found.revision == 0 and found.package and found.warehouse
    assert found.intact, [c for c in found.package if not c.ok]
    assert found.warehouse_agrees, [c for c in found.warehouse if not c.ok]
    assert report.manifest["figures"]["net_amount_cents"] == net
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
    _tamper(settings, ledger_key)
    differing = [c.check for c in verify(settings, DAY).package if not c.ok]
    assert f"{ledger_key} sha256" in differing
    assert "ledger gift_cents: file" in differing
    assert "gross_amount_cents: files = revisions <= 0" in differing
    cli = CliRunner().invoke(app, ["audit", "verify", "--date", str(DAY)], env=_cli_env(settings))
    assert cli.exit_code == 1
    assert "DIFFERS" in cli.output


def _tamper(settings: Settings, ledger_key: str) -> None:
    """A ledger file with every amount a cent higher, put over its key as a new version."""
    tampered = duckdb.sql(
        "select * replace (amount_cents + 1 as amount_cents) from read_parquet(?)",
        params=[_local_copy(settings, ledger_key)],
    )
    out = settings.state_dir / "tampered.parquet"
    tampered.write_parquet(str(out))
    aws.client("s3", settings).put_object(
        Bucket=settings.audit_bucket, Key=ledger_key, Body=out.read_bytes()
    )


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


def _built_and_closed(settings: Settings, seed: int) -> None:
    publish(settings, small_corpus(seed=seed, seconds=1))
    land(settings)
    build(settings)
    close(settings, DAY)


def _a_late_gift_lands(settings: Settings, amount_cents: int) -> None:
    _, late = _late_gift(amount_cents)
    publish(settings, [late])
    land(settings)
    build(settings)


def test_an_export_after_the_live_day_moved_is_refused_naming_the_difference(
    provisioned: Settings,
) -> None:
    settings = provisioned.model_copy(update={"audit_bucket": f"{provisioned.raw_bucket}-audit"})
    _built_and_closed(settings, seed=31)
    _a_late_gift_lands(settings, 4321)

    # Revision 0 signed the day without the late gift; the warehouse now holds it.
    with pytest.raises(AuditRefused) as refused:
        export(settings, DAY)

    message = str(refused.value)
    assert re.search(r"net_amount_cents is \d+ live, \d+ signed \(\+4321\)", message), message
    assert re.search(r"gift_count is \d+ live, \d+ signed \(\+1\)", message), message
    assert "`accfb close` records the change as revision 1" in message
    assert _objects(aws.client("s3", settings), settings.audit_bucket, prefix(DAY, 0)) == []
    cli = CliRunner().invoke(app, ["audit", "export", "--date", str(DAY)], env=_cli_env(settings))
    assert cli.exit_code == 1 and "(+4321)" in cli.output

    [adjustment] = close(settings)
    assert adjustment.revision == 1
    # Revision 0 can no longer be written as it was signed; revision 1 can, and is.
    with pytest.raises(AuditRefused, match="revision 0 can no longer be written"):
        export(settings, DAY, 0)
    report = export(settings, DAY)
    assert report.written and report.prefix == prefix(DAY, 1)
    [(live_net, live_gifts)] = query(
        settings,
        "select net_amount_cents, gift_count from marts.rpt_daily_close "
        f"where close_date = '{DAY}'",
    )
    figures = report.manifest["figures"]
    assert (figures["net_amount_cents"], figures["gift_count"]) == (live_net, live_gifts)
    assert report.manifest["files"]["close"]["totals"]["rows"] == 2
    found = verify(settings, DAY)
    assert found.revision == 1 and found.intact and found.warehouse_agrees


def test_an_earlier_revision_verifies_from_its_package_alone_and_the_warehouse_apart(
    provisioned: Settings,
) -> None:
    settings = provisioned.model_copy(update={"audit_bucket": f"{provisioned.raw_bucket}-audit"})
    _built_and_closed(settings, seed=32)
    assert export(settings, DAY).prefix == prefix(DAY, 0)
    env = _cli_env(settings)

    # The live day moves after the export: the package is intact, the warehouse differs.
    _a_late_gift_lands(settings, 500)
    drifted = verify(settings, DAY)
    assert drifted.revision == 0 and drifted.intact, [c for c in drifted.package if not c.ok]
    assert drifted.warehouse is not None
    moved = {c.check for c in drifted.warehouse if not c.ok}
    assert {"ledger gift_cents: warehouse", "live net_amount_cents = revisions <= 0"} <= moved
    cli = CliRunner().invoke(app, ["audit", "verify", "--date", str(DAY)], env=env)
    assert cli.exit_code == 2, cli.output
    assert "intact" in cli.output and "warehouse:" in cli.output and "differ" in cli.output

    close(settings)
    assert export(settings, DAY).prefix == prefix(DAY, 1)
    # Revision 0 from the bucket alone: no warehouse file is opened (or created).
    nowhere = settings.model_copy(update={"warehouse_path": settings.state_dir / "absent.duckdb"})
    alone = verify(nowhere, DAY, 0, warehouse=False)
    assert alone.revision == 0 and alone.warehouse is None
    assert alone.intact, [c for c in alone.package if not c.ok]
    assert not nowhere.warehouse_path.exists()
    cli = CliRunner().invoke(
        app,
        ["audit", "verify", "--date", str(DAY), "--revision", "0", "--no-warehouse"],
        env={**env, "ACCFB_WAREHOUSE_PATH": str(nowhere.warehouse_path)},
    )
    assert cli.exit_code == 0, cli.output
    # With the warehouse, revision 0 no longer matches it, and revision 1 says why.
    with_warehouse = verify(settings, DAY, 0)
    assert with_warehouse.intact and not with_warehouse.warehouse_agrees
    assert [(r.revision, r.net_amount_cents) for r in with_warehouse.later] == [(1, 500)]
    assert verify(settings, DAY, 1).warehouse_agrees

    # A changed file of revision 0 fails its package, whatever the warehouse says.
    ledger_key = f"{prefix(DAY, 0)}/ledger000.parquet"
    _tamper(settings, ledger_key)
    differing = {c.check for c in verify(nowhere, DAY, 0, warehouse=False).package if not c.ok}
    assert f"{ledger_key} sha256" in differing
    assert "gross_amount_cents: files = revisions <= 0" in differing
    assert verify(settings, DAY, 1).intact
