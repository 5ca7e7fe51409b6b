"""The dbt docs lineage site for auditors, published after each release: every hour the deployed
project's fingerprint is compared with the published page's; when they differ (a release) the
page is rebuilt from the project and the warehouse's catalog and uploaded to the Serving stack's
private bucket (ingestion/operations/lineage.py). Staff open it at https://<dashboards>/lineage/.
"""

from __future__ import annotations

from datetime import UTC, datetime

import accfb_common as common
from airflow.sdk import DAG, task

common.dbt_environment()

with DAG(
    dag_id="accfb_lineage_site",
    description="Rebuild and publish the dbt docs lineage site when the deployed project changed",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "lineage", "docs"],
    doc_md=__doc__,
) as dag:

    @task
    def publish() -> bool:
        """True when a new page was uploaded; False when the published one is current."""
        from ingestion.operations.lineage import publish_site

        settings = common.settings()
        return publish_site(settings, settings.lineage_bucket).uploaded

    publish()
