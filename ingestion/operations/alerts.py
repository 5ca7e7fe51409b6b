"""The pipeline's one alert sink: an SNS topic in AWS, a JSON-lines file locally.

Every alert says where it came from (DAG, task, run, window), what was measured against which
threshold, and which runbook in docs/runbooks.md to open, so the person paged starts from the
fix rather than from the logs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.config import aws
from ingestion.config.settings import Settings

RUNBOOKS = "docs/runbooks.md"


@dataclass(frozen=True)
class Alert:
    summary: str
    runbook: str
    measured: str
    threshold: str
    dag_id: str = ""
    task_id: str = ""
    run_id: str = ""
    window: str = ""
    raised_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOKS}#{self.runbook}"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "runbook_url": self.runbook_url}


def alerts_path(settings: Settings) -> Path:
    return settings.state_dir / "alerts.jsonl"


def send_alert(settings: Settings, alert: Alert) -> None:
    """Publish to SNS when a topic is set, otherwise append one line to the local sink."""
    if settings.alert_topic_arn:
        aws.client("sns", settings).publish(
            TopicArn=settings.alert_topic_arn,
            Subject=f"[accfb] {alert.summary}"[:100],
            Message=json.dumps(alert.as_dict(), indent=2),
        )
        return
    path = alerts_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(alert.as_dict()) + "\n")


def read_alerts(settings: Settings) -> list[dict[str, Any]]:
    """The local sink's alerts, oldest first."""
    path = alerts_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
