"""The marts are a function of the events, not of how or how often they were delivered.

Real path throughout: producer → moto's Kinesis → lander → DuckDB → dbt. Every public mart (each
table in the `marts` schema) is compared whole, excluding only load metadata that records *when*
rows were loaded: `first_loaded_at` and `last_landed_at`. Across different delivery orders and
batch splits the stream positions differ too, so `shard_id` and `sequence_number` are excluded
there (and only there). `ops.pipeline_freshness` is a per-refresh log and is not compared.
"""

from __future__ import annotations

import random
from typing import Any

from ingestion import aws, dbt, localaws, warehouse
from ingestion.contract import partition_key
from ingestion.landing import StreamLander
from ingestion.publish import publish_records
from ingestion.settings import Settings
from tests.marts.settlement_seed import seed_corpus

LOAD_METADATA = frozenset({"first_loaded_at", "last_landed_at"})
STREAM_POSITION = frozenset({"shard_id", "sequence_number"})
# Overlap 0: every incremental pass reads only what landed since the last one, so the
# touched-keys logic (not a re-read of everything) is what these tests prove.
REFRESH = ["build", "--select", "@stream_events", "--vars", "{landing_overlap_minutes: 0}"]

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
    corpus = seed_corpus()
    half = len(corpus) // 2
    _land(provisioned, corpus[:half])
    _refresh(provisioned)
    _land(provisioned, corpus[half:])
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
    corpus = seed_corpus()
    shuffled = corpus[:]
    random.Random(7).shuffle(shuffled)
    feeds = {
        "in order, one batch": [corpus],
        "reversed, two batches": _split(corpus[::-1], 2),
        "shuffled, four batches": _split(shuffled, 4),
    }
    results: dict[str, Marts] = {}
    for n, (name, batches) in enumerate(feeds.items()):
        variant = settings.model_copy(
            update={
                "stream_name": f"{settings.stream_name}-{n}",
                "raw_bucket": f"{settings.raw_bucket}-{n}",
                "warehouse_path": settings.warehouse_path.with_name(f"warehouse-{n}.duckdb"),
                "state_dir": settings.state_dir / str(n),
            }
        )
        localaws.provision(variant)
        for batch in batches:
            _land(variant, batch)
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
