"""The marts are a function of the events, not of how or how often they were delivered.

Real path throughout: producer → moto's Kinesis → lander → DuckDB → dbt, with the CRM and
settlement exports that go with the corpus loaded by the batch load. Every public mart (each
table in the `marts` schema) is compared whole, excluding only load metadata that records *when*
rows were loaded: `first_loaded_at` and `last_landed_at`, and the landing batch or export load
behind a row (`landed_batch`, `export_load_seq`), which number loads in the order they happened.
Across different delivery orders and batch splits the stream positions differ too, so `shard_id`
and `sequence_number` are excluded there (and only there). `ops.pipeline_freshness` is a
per-refresh log and is not compared.
"""

from __future__ import annotations

import random
from typing import Any

from ingestion.batch.loads import load_batches
from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.landing.lander import StreamLander
from ingestion.local import localaws
from ingestion.produce.publish import publish_records
from tests.marts.support import corpus, drop_crm_export, drop_settlement_export

# The finance marts' cursors (a batch, a load or a pass number) say when a row was written too.
LOAD_METADATA = frozenset(
    {
        "first_loaded_at",
        "last_landed_at",
        "landed_batch",
        "export_load_seq",
        "donation_batch",
        "settlement_load_seq",
        "reconciled_pass",
        "ledger_batch",
    }
)
STREAM_POSITION = frozenset({"shard_id", "sequence_number"})
# Every incremental pass reads only the batches past its cursor, so the touched-keys logic (not a
# re-read of everything) is what these tests prove.
REFRESH = ["build", "--select", "@stream_events"]

Marts = dict[str, list[tuple[Any, ...]]]


def _land(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]
    StreamLander(settings, aws.client("kinesis", settings)).land_once()


def _refresh(settings: Settings) -> None:
    dbt.run_dbt(settings, REFRESH)


def _marts(settings: Settings, excluded: frozenset[str]) -> Marts:
    with warehouse.connect(settings.warehouse_path) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
        marts: Marts = {}
        for table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if name not in excluded
            ]
            listed = ", ".join(columns)
            marts[table] = con.execute(
                f"select {listed} from marts.{table} order by all"
            ).fetchall()
    return marts


def test_rebuild_and_full_refresh_of_the_same_events_give_identical_marts(
    provisioned: Settings,
) -> None:
    records = corpus()
    half = len(records) // 2
    drop_settlement_export(provisioned, records)
    drop_crm_export(provisioned, records)
    load_batches(provisioned, ["settlements"])
    _land(provisioned, records[:half])
    _refresh(provisioned)
    # The CRM export arrives between two stream batches: incremental passes take it in by its
    # load time, as they take events by their landing time.
    load_batches(provisioned, ["crm"])
    _land(provisioned, records[half:])
    _refresh(provisioned)
    built = _marts(provisioned, LOAD_METADATA)

    _refresh(provisioned)
    rebuilt = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, [*REFRESH, "--full-refresh"])
    full = _marts(provisioned, LOAD_METADATA)

    assert len(built) >= 12, sorted(built)
    assert all(rows for rows in built.values()), [t for t, rows in built.items() if not rows]
    assert rebuilt == built
    assert full == built


def test_same_events_in_any_order_and_batch_split_give_identical_marts(
    settings: Settings,
) -> None:
    records = corpus()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    feeds = {
        "in order, one batch": [records],
        "reversed, two batches": _split(records[::-1], 2),
        "shuffled, four batches": _split(shuffled, 4),
    }
    results: dict[str, Marts] = {}
    # Each variant streams on its own stream into its own warehouse; the exports sit in the one
    # bucket they all load from, so the same files give the same export row ids.
    localaws.provision(settings)
    drop_settlement_export(settings, records)
    drop_crm_export(settings, records)
    for n, (name, batches) in enumerate(feeds.items()):
        variant = settings.model_copy(
            update={
                "stream_name": f"{settings.stream_name}-{n}",
                "warehouse_path": settings.warehouse_path.with_name(f"warehouse-{n}.duckdb"),
                "state_dir": settings.state_dir / str(n),
            }
        )
        localaws.provision(variant)
        load_batches(variant, ["settlements"])
        for i, batch in enumerate(batches):
            _land(variant, batch)
            # The CRM export arrives midway, between stream batches, in every variant.
            if i == len(batches) // 2:
                load_batches(variant, ["crm"])
            _refresh(variant)
        results[name] = _marts(variant, LOAD_METADATA | STREAM_POSITION)

    reference = results["in order, one batch"]
    assert sum(len(rows) for rows in reference.values()) > 1000
    for name, marts in results.items():
        differing = [table for table in reference if marts.get(table) != reference[table]]
        assert differing == [], f"{name}: {differing}"


def _split(records: list[bytes], parts: int) -> list[list[bytes]]:
    size = -(-len(records) // parts)
    return [records[i : i + size] for i in range(0, len(records), size)]
