"""Numbers the runtime and the AWS deployment must agree on, in the runtime package.

``infra/`` imports them from here (never the reverse), so an installed package of the pipeline
needs nothing outside itself, and a retention or target change is one diff read by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, kw_only=True)
class Retention:
    """How long data is kept; the brief's two numbers, read by the archive and audit stacks."""

    raw_days: int = 365  # raw immutable events: 1 year
    audit_years: int = 7  # curated finance and audit tables: 7 years
    stream_hours: int = 168  # Kinesis keeps 7 days: a lost day (or a long weekend) can be re-read

    @property
    def audit_days(self) -> int:
        # 7 calendar years include one or two 29 Februaries; err towards keeping longer.
        return self.audit_years * 365 + 2


RETENTION: Final = Retention()

# The pipeline's freshness goal (P95 source to dashboard), shared by alarms and the cost model.
FRESHNESS_TARGET_SECONDS: Final = 120

# The refresh runs every minute in every operating mode (modes change capacity, not freshness);
# the DAG's schedule and the cost model read this one number.
REFRESH_INTERVAL_SECONDS: Final = 60

# The brief's event rates per operating mode (events/s): the stream's shards and the warehouse's
# capacity follow the mode (infra/settings.py), the cost model prices each mode's hours.
MODE_EVENTS_PER_SECOND: Final = {"normal": 800, "campaign": 3_000, "emergency": 8_000}

# Minutes without a completed refresh (its RefreshCompleted heartbeat) before the on-call is
# paged: three missed minutes still leave a gift inside the 2-minute goal's P95 once the
# refresh resumes, five do not.
REFRESH_STALLED_MINUTES: Final = 5

# The metrics the refresh publishes (one namespace, an ``Environment`` dimension).
METRIC_NAMESPACE: Final = "ACCFB/Pipeline"

# The Airflow pool (one slot) every task that writes the warehouse runs in, across DAGs: on
# Redshift two dbt builds collide on table models' temporary relations and their delete+insert
# merges abort each other with serializable-isolation errors. Created by the local launcher
# and, on MWAA, by the Orchestration stack.
WAREHOUSE_POOL: Final = "accfb_warehouse"
