"""The serving copy on the real path: what it holds, who can read it while the pipeline holds
the warehouse, and that a refresh swaps it whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion.config import warehouse
from ingestion.config.settings import Settings
from ingestion.serving import copy as serving
from ingestion.serving import source
from tests.serving.browser import settings_env

ACCFB = str(Path(sys.executable).parent / "accfb")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


def test_the_copy_holds_the_public_marts_and_the_ops_logs_without_donor_data(
    served: Settings,
) -> None:
    with warehouse.connect(served.warehouse_path) as con:
        warehouse_tables = _tables(con)
        marts = {t for t in warehouse_tables if t.startswith("marts.")}
        counts = {t: con.execute(f"select count(*) from {t}").fetchone() for t in marts}
    assert len(marts) >= 12
    with duckdb.connect(str(serving.serving_path(served)), read_only=True) as copy:
        copied = _tables(copy)
        assert copied == marts | {
            "ops.pipeline_freshness",
            "ops.agg_quarantine_reasons",
            "ops.dbt_node_results",
            "ops.alerts",
            "ops.serving_published",
            "ops.serving_cursors",
        }
        assert {t: copy.execute(f"select count(*) from {t}").fetchone() for t in marts} == counts
        # Two refreshes of the corpus, each logged; the alert sink's one alert.
        assert copy.execute("select count(*) from ops.pipeline_freshness").fetchone() == (2,)
        assert copy.execute(
            "select count(distinct invocation_id) from ops.dbt_node_results"
        ).fetchone() == (2,)
        assert copy.execute("select dag_id from ops.alerts").fetchall() == [("accfb_data_quality",)]
    assert "ops.quarantined_events" in warehouse_tables  # raw text: present, and not copied
    assert any(t.startswith("staging.") for t in warehouse_tables)


def test_no_email_address_reaches_the_copy(served: Settings) -> None:
    with warehouse.connect(served.warehouse_path) as con:
        # The warehouse does hold them (staging, quarantined raw records): the check sees data.
        (emails,) = con.execute(
            "select count(*) from staging.stg_crm__donors where email like '%@%'"
        ).fetchone() or (0,)
    assert emails > 0
    with duckdb.connect(str(serving.serving_path(served)), read_only=True) as copy:
        text_columns = copy.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        assert len(text_columns) > 30
        with_at = [
            f"{schema}.{table}.{column}"
            for schema, table, column in text_columns
            if copy.execute(
                f"select count(*) from {schema}.{table} where \"{column}\" like '%@%'"
            ).fetchone()
            != (0,)
        ]
    assert with_at == []


def test_analysts_query_the_copy_while_another_process_holds_the_warehouse(
    served: Settings,
) -> None:
    env = {**os.environ, **settings_env(served)}
    with warehouse.connect(served.warehouse_path) as held:
        (gifts,) = held.execute("select count(*) from marts.fct_donations").fetchone() or (0,)
        # The warehouse itself is out of reach from another process, even read-only...
        blocked = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import duckdb; duckdb.connect({str(served.warehouse_path)!r}, read_only=True)",
            ],
            capture_output=True,
            text=True,
        )
        assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()
        # ...the serving copy is not, by any number of readers at once.
        with duckdb.connect(str(serving.serving_path(served)), read_only=True):
            result = subprocess.run(
                [ACCFB, "sql", "select count(*) as gifts from marts.fct_donations"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
    assert gifts > 1000
    assert str(gifts) in result.stdout
    assert "1 rows" in result.stdout


def test_sql_reads_stdin_and_names_a_missing_copy(served: Settings, tmp_path: Path) -> None:
    env = {**os.environ, **settings_env(served)}
    from_stdin = subprocess.run(
        [ACCFB, "sql"],
        input="select reconciliation_status from marts.rpt_settlement_reconciliation "
        "group by 1 order by 1",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "amount_mismatch" in from_stdin.stdout and "missing_in_donations" in from_stdin.stdout
    missing = subprocess.run(
        [ACCFB, "sql", "select 1"],
        env={**env, "ACCFB_STATE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert "no serving copy" in missing.stderr


def test_a_publish_swaps_the_copy_whole_under_a_reader(served: Settings) -> None:
    path = serving.serving_path(served)
    before = source.query(served, "select published_at from ops.serving_published")
    with duckdb.connect(str(path), read_only=True) as reader:
        published = serving.publish(served)
        # The open reader keeps the refresh it opened, whole.
        assert reader.execute("select published_at from ops.serving_published").fetchone() == (
            before.published_at[0].to_pydatetime(),
        )
        assert reader.execute("select count(*) from marts.fct_donations").fetchone() != (0,)
    after = source.query(served, "select published_at from ops.serving_published")
    assert after.published_at[0].to_pydatetime() == published.published_at
    assert after.published_at[0] > before.published_at[0]
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def _differences(settings: Settings, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows in the warehouse and not the copy, or the other way round, per table."""
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute(f"attach '{serving.serving_path(settings)}' as served (read_only)")
        try:
            return {
                table: sum(
                    int((con.execute(f"select count(*) from ({query})").fetchone() or (0,))[0])
                    for query in (
                        f"select * from {table} except all select * from served.{table}",
                        f"select * from served.{table} except all select * from {table}",
                    )
                )
                for table in tables
            }
        finally:
            con.execute("detach served")


def test_a_publish_writes_the_changed_and_withdrawn_rows_not_the_history(
    own_copy: Settings,
) -> None:
    serving.publish(own_copy)  # both generations now exist and carry their cursors
    with warehouse.connect(own_copy.warehouse_path) as con:
        changed, withdrawn = (
            row[0]
            for row in con.execute(
                "select donation_id from marts.fct_donations order by donation_id limit 2"
            ).fetchall()
        )
        # A refund that arrived in a new batch, a gift withdrawn, and a reconciliation row
        # whose status moved in a new pass (each pass writes its rows under the next number).
        con.execute(
            """
            update marts.fct_donations
            set net_amount_cents = net_amount_cents - 1,
                landed_batch = (select max(landed_batch) + 1 from marts.fct_donations)
            where donation_id = ?
            """,
            [changed],
        )
        con.execute("delete from marts.fct_donations where donation_id = ?", [withdrawn])
        (settlement,) = con.execute(
            "select processor_txn_id from marts.rpt_settlement_reconciliation "
            "where processor_txn_id is not null order by 1 limit 1"
        ).fetchone() or (None,)
        con.execute(
            "update marts.rpt_settlement_reconciliation set reconciliation_status = 'pending', "
            "reconciled_pass = (select max(reconciled_pass) + 1 "
            "from marts.rpt_settlement_reconciliation) where processor_txn_id = ?",
            [settlement],
        )
        (gifts,) = con.execute("select count(*) from marts.fct_donations").fetchone() or (0,)

    published = serving.publish(own_copy)

    assert not published.whole
    assert _differences(own_copy, published.tables) == dict.fromkeys(published.tables, 0)
    # The gift table: one row rewritten, one deleted; not the ~gifts rows a whole copy writes.
    assert published.rows_written["marts.fct_donations"] == 3
    assert gifts > 1000
    assert published.rows_written["marts.rpt_settlement_reconciliation"] == 2
    served_gifts = source.query(own_copy, "select donation_id from marts.fct_donations")
    assert withdrawn not in set(served_gifts.donation_id) and changed in set(
        served_gifts.donation_id
    )


def test_a_publish_copies_a_keys_older_rows_and_a_renumbered_change_column(
    own_copy: Settings,
) -> None:
    """A donor's new version carries a new batch while their earlier versions keep theirs; a
    full refresh of the reconciliation numbers its passes from 1 again."""
    serving.publish(own_copy)
    serving.publish(own_copy)  # both generations carry their cursors
    with warehouse.connect(own_copy.warehouse_path) as con:
        (donor,) = con.execute(
            "select donor_id from marts.dim_donors group by donor_id having count(*) > 1 limit 1"
        ).fetchone() or (None,)
        assert donor is not None, "the corpus has a donor with two versions"
        con.execute(
            """
            update marts.dim_donors set landed_batch = (select max(landed_batch) + 1
            from marts.dim_donors) where donor_version_id = (select max(donor_version_id)
            from marts.dim_donors where donor_id = ?)
            """,
            [donor],
        )
        # Its first version came from a CRM export: no batch.
        con.execute(
            "update marts.dim_donors set landed_batch = null where donor_version_id = (select "
            "min(donor_version_id) from marts.dim_donors where donor_id = ?)",
            [donor],
        )
        con.execute(
            "update marts.rpt_settlement_reconciliation set reconciled_pass = 1, "
            "reconciliation_status = 'pending' where processor_txn_id = (select min("
            "processor_txn_id) from marts.rpt_settlement_reconciliation)"
        )
        con.execute("update marts.rpt_settlement_reconciliation set reconciled_pass = 1")

    published = serving.publish(own_copy)

    assert not published.whole
    assert _differences(own_copy, published.tables) == dict.fromkeys(published.tables, 0)
    served = source.query(own_copy, f"select * from marts.dim_donors where donor_id = '{donor}'")
    assert len(served) > 1


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select published_at from ops.serving_published"
print(con.execute(query).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(query).fetchone()[0], flush=True)
"""


def test_a_reader_holding_the_next_generation_keeps_its_snapshot_and_the_publish_goes_on(
    own_copy: Settings,
) -> None:
    serving.publish(own_copy)
    current = os.readlink(serving.serving_path(own_copy))
    (other,) = (
        path
        for g in serving.GENERATIONS
        if (path := serving.generation_path(own_copy, g)).name != current
    )
    # Another process holds the file the next publish would bring up to date.
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(other)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None and reader.stdin is not None
    before = reader.stdout.readline()
    try:
        published = serving.publish(own_copy)
    finally:
        after, _ = reader.communicate("\n", timeout=60)
    # The reader's file was replaced, never written: it still reads the refresh it opened.
    assert after == before and before.strip()
    assert published.whole
    assert os.readlink(serving.serving_path(own_copy)) == other.name
    assert _differences(own_copy, published.tables) == dict.fromkeys(published.tables, 0)
