"""The minute's build skips the seeds and the batch-only models while only the stream changed,
and builds them again once an export lands: the marts are the same either way."""

from __future__ import annotations

import json

from ingestion.batch.loads import load_batches
from ingestion.config import dbt
from ingestion.config.settings import Settings
from tests.marts.support import corpus, drop_settlement_export
from tests.support import land, publish, query

UPSTREAM_ONLY = {"seed.accfb.campaigns", "model.accfb.stg_processor__settlements"}


def _built(settings: Settings) -> set[str]:
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    return {result["unique_id"] for result in results["results"]}


def _gifts(settings: Settings) -> int:
    return int(query(settings, "select count(*) from marts.fct_donations")[0][0])


def test_a_stream_only_minute_builds_only_what_the_stream_feeds(provisioned: Settings) -> None:
    first = corpus()
    publish(provisioned, first[: len(first) // 2])
    land(provisioned)
    dbt.build_streaming_models(provisioned)
    assert _built(provisioned) >= UPSTREAM_ONLY  # the first build builds everything
    gifts = _gifts(provisioned)

    publish(provisioned, first[len(first) // 2 :])
    land(provisioned)
    dbt.build_streaming_models(provisioned)
    built = _built(provisioned)
    assert not UPSTREAM_ONLY & built
    assert "model.accfb.fct_donations" in built
    assert _gifts(provisioned) > gifts

    drop_settlement_export(provisioned, first)
    load_batches(provisioned)
    dbt.build_streaming_models(provisioned)
    assert _built(provisioned) >= UPSTREAM_ONLY  # an export landed: its models are rebuilt
    settled = query(provisioned, "select count(*) from staging.stg_processor__settlements")
    assert settled[0][0] > 0
