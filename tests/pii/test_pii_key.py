"""The PII hash key never appears anywhere a build, its logs or the auditors' docs site leave
behind, the hash is HMAC-SHA256 under that key, and rotating the key rehashes every donor."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlglot
import sqlparse
from sqlglot import exp

from ingestion.config import dbt
from ingestion.config.settings import Settings
from ingestion.pii import redshift_udf
from ingestion.pii.keyed_hash import keyed_hash
from tests.cli.support import accfb, local_env
from tests.conftest import free_port
from tests.replay.test_redshift_loads import _compile_for_redshift
from tests.serving.browser import server
from tests.support import build, corpus, land, publish, query

pytestmark = pytest.mark.pipeline
DBT = str(Path(sys.executable).parent / "dbt")

DONOR_EMAILS = """
    select donor_id, updated_at, email from staging.stg_crm__donors
    union all
    select donor_id, updated_at, email from staging.stg_crm__donor_exports
"""


def _hashes_against_emails(settings: Settings) -> list[tuple[str | None, str | None]]:
    return query(
        settings,
        f"""
        select dim.email_hash, staged.email
        from marts.dim_donors as dim
        join ({DONOR_EMAILS}) as staged
            on dim.donor_id = staged.donor_id and dim.valid_from = staged.updated_at
        """,
    )


def _keyed(settings: Settings, key: str) -> Settings:
    return settings.model_copy(update={"pii_hash_key": key})


def test_the_key_is_in_no_artifact_log_or_page_of_the_docs_site(
    provisioned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"pii-key-{uuid.uuid4().hex}"
    monkeypatch.setenv("ACCFB_PII_HASH_KEY", key)
    publish(provisioned, corpus(seed=11, seconds=1))
    land(provisioned)
    build(provisioned)
    hashed = _hashes_against_emails(provisioned)
    assert len(hashed) > 10
    # The key was used, as an HMAC of the normalised email.
    assert all(h == keyed_hash(key.encode(), e) for h, e in hashed)
    assert (
        hashed[0][0]
        == hmac.new(
            key.encode(), str(hashed[0][1]).strip().lower().encode(), hashlib.sha256
        ).hexdigest()
    )

    # The docs site as `accfb docs` builds and serves it; generated in this process, which dbt's
    # in-process connection keeps holding the warehouse.
    dbt.run_dbt(provisioned, ["docs", "generate"])
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    serve = [DBT, "docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser"]
    served = []
    with server(serve, dbt.dbt_environment(provisioned), f"{site}/index.html"):
        for page in ("index.html", "manifest.json", "catalog.json", "run_results.json"):
            with urllib.request.urlopen(f"{site}/{page}", timeout=10) as response:  # noqa: S310
                served.append((page, response.read()))

    assert {page for page, _ in served} >= {"index.html", "manifest.json", "catalog.json"}
    manifest = json.loads(dict(served)["manifest.json"])
    assert "f_accfb_pii_hmac" in manifest["nodes"]["model.accfb.dim_donors"]["raw_code"] + str(
        manifest["macros"]["macro.accfb.pii_hash"]["macro_sql"]
    )
    files = [p for p in provisioned.state_dir.rglob("*") if p.is_file()]
    files += [provisioned.warehouse_path]
    kinds = {p.name for p in files}
    assert {"manifest.json", "run_results.json", "catalog.json", "index.html", "dbt.log"} <= kinds
    assert any(p.suffix == ".sql" and "compiled" in p.parts for p in files)
    leaking = [str(p) for p in files if key.encode() in p.read_bytes()]
    leaking += [page for page, body in served if key.encode() in body]
    assert leaking == []


def test_rotating_the_key_rehashes_every_donor_and_keeps_none_of_the_old(
    provisioned: Settings,
) -> None:
    old, new = "old-key-" + uuid.uuid4().hex, "new-key-" + uuid.uuid4().hex
    publish(provisioned, corpus(seed=12, seconds=1))
    # Each step its own process, as an operator runs them: a process reads its key once.
    refreshed = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=old))
    assert refreshed.returncode == 0, refreshed.stderr
    before = _hashes_against_emails(provisioned)
    assert len(before) > 10 and all(h == keyed_hash(old.encode(), e) for h, e in before)

    # The procedure of docs/runbooks.md, "Rotating the PII hash key", on the local warehouse.
    rehashed = accfb("rehash-pii", env=local_env(provisioned, ACCFB_PII_HASH_KEY=new))

    assert rehashed.returncode == 0, rehashed.stderr
    after = _hashes_against_emails(provisioned)
    assert len(after) == len(before)
    assert all(h == keyed_hash(new.encode(), e) for h, e in after)
    assert not {h for h, _ in after} & {h for h, _ in before}


def test_a_build_with_another_key_is_refused_until_rehash_pii_rebuilds_the_hashes(
    provisioned: Settings,
) -> None:
    first, other = "first-key-" + uuid.uuid4().hex, "other-key-" + uuid.uuid4().hex
    publish(provisioned, corpus(seed=13, seconds=1))
    built = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=first))
    assert built.returncode == 0, built.stderr
    before = _hashes_against_emails(provisioned)

    # New gifts, and a key the stored hashes were not made with.
    publish(provisioned, corpus(seed=14, seconds=1))
    refused = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=other))

    assert refused.returncode == 1
    assert "accfb rehash-pii" in refused.stderr
    assert _hashes_against_emails(provisioned) == before  # nothing was hashed with it
    assert other not in refused.stderr + refused.stdout

    rehashed = accfb("rehash-pii", env=local_env(provisioned, ACCFB_PII_HASH_KEY=other))
    assert rehashed.returncode == 0, rehashed.stderr
    accepted = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=other))
    assert accepted.returncode == 0, accepted.stderr
    after = _hashes_against_emails(provisioned)
    assert len(after) > len(before)
    assert all(h == keyed_hash(other.encode(), e) for h, e in after)

    # The first key is now the stranger.
    publish(provisioned, corpus(seed=15, seconds=1))
    back = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=first))
    assert back.returncode == 1 and "accfb rehash-pii" in back.stderr


def test_the_key_check_compiles_for_redshift_with_the_function_and_no_fingerprint(
    tmp_path: Path,
) -> None:
    check = _compile_for_redshift("{{ pii_key_mismatch_sql() }}", tmp_path)
    record = _compile_for_redshift("{{ pii_key_first_fingerprint_sql() }}", tmp_path)

    for sql in (check, record):
        tree = sqlglot.parse_one(sql, read="redshift")
        (function,) = [f for f in tree.find_all(exp.Anonymous) if f.name == "f_accfb_pii_hmac"]
        assert [a.sql() for a in function.expressions] == ["'accfb pii key fingerprint'"]


def test_the_redshift_udf_answers_a_batch_as_redshift_expects() -> None:
    event = {"num_records": 3, "arguments": [["Ana@Example.org "], [None], ["b@example.org"]]}

    answer = json.loads(redshift_udf.hash_rows(b"k", event))

    assert answer == {
        "success": True,
        "num_records": 3,
        "results": [keyed_hash(b"k", "ana@example.org"), None, keyed_hash(b"k", "b@example.org")],
    }


def test_the_redshift_udf_without_its_key_fails_the_query_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(redshift_udf.KEY_SECRET_ENV, raising=False)

    answer = json.loads(redshift_udf.handler({"arguments": [["a@b.org"]]}, None))

    assert answer["success"] is False
    assert answer["error_msg"].startswith("PII key unavailable")


def test_a_key_file_of_a_settings_object_never_shows_in_its_repr(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, pii_hash_key="do-not-print-me")  # type: ignore[arg-type]
    assert "do-not-print-me" not in repr(settings) + str(settings.model_dump())


def test_redshift_calls_the_lambda_udf_and_its_sql_holds_no_key(tmp_path: Path) -> None:
    # Split as dbt-redshift splits a hook before sending it.
    declared, _revoke = sqlparse.split(_compile_for_redshift("{{ pii_hash_function() }}", tmp_path))
    called = _compile_for_redshift(
        "select {{ pii_hash('email') }} as email_hash from staging.stg_crm__donors", tmp_path
    )

    assert " ".join(declared.split()) == (
        "create or replace external function f_accfb_pii_hmac(varchar(max)) returns varchar(64) "
        "stable lambda 'accfb-dev-pii-hmac' "
        "iam_role 'arn:aws:iam::000000000000:role/accfb-redshift-pii-hmac';"
    )
    tree = sqlglot.parse_one(called, read="redshift")
    (function,) = list(tree.find_all(exp.Anonymous))
    assert function.name == "f_accfb_pii_hmac"
    assert [a.sql() for a in function.expressions] == ["email"]


def test_only_the_dbt_user_may_call_the_redshift_hash_function(tmp_path: Path) -> None:
    """Redshift grants EXECUTE on a new function to PUBLIC: an analyst who could call it could
    hash guessed emails and find them among the stored hashes."""
    declared, revoke = sqlparse.split(_compile_for_redshift("{{ pii_hash_function() }}", tmp_path))

    assert declared.lower().startswith("create or replace external function f_accfb_pii_hmac(")
    tree = sqlglot.parse_one(revoke, read="redshift")
    assert isinstance(tree, exp.Revoke)
    assert [p.sql() for p in tree.args["privileges"]] == ["EXECUTE"]
    assert tree.args["kind"].upper() == "FUNCTION"
    assert tree.args["securable"].sql(dialect="redshift").lower() == (
        "f_accfb_pii_hmac(varchar(max))"
    )
    assert [p.sql().lower() for p in tree.args["principals"]] == ["public"]


def test_a_warehouse_holding_hashes_but_no_recorded_key_refuses_a_fresh_key_until_rehash_pii(
    provisioned: Settings,
) -> None:
    old, fresh = "old-key-" + uuid.uuid4().hex, "fresh-key-" + uuid.uuid4().hex
    publish(provisioned, corpus(seed=16, seconds=1))
    built = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=old))
    assert built.returncode == 0, built.stderr
    before = _hashes_against_emails(provisioned)
    # Hashes made before any fingerprint was recorded, then a deploy with a fresh secret.
    query(provisioned, "delete from lander.pii_key_fingerprint")

    publish(provisioned, corpus(seed=17, seconds=1))
    refused = accfb("refresh", env=local_env(provisioned, ACCFB_PII_HASH_KEY=fresh))

    assert refused.returncode == 1
    assert "accfb rehash-pii" in refused.stderr
    assert _hashes_against_emails(provisioned) == before
    assert query(provisioned, "select count(*) from lander.pii_key_fingerprint") == [(0,)]
    rehashed = accfb("rehash-pii", env=local_env(provisioned, ACCFB_PII_HASH_KEY=fresh))
    assert rehashed.returncode == 0, rehashed.stderr
    after = _hashes_against_emails(provisioned)
    assert len(after) == len(before)
    assert all(h == keyed_hash(fresh.encode(), e) for h, e in after)
    assert query(provisioned, "select count(*) from lander.pii_key_fingerprint") == [(1,)]
