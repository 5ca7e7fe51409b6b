"""The pipeline's one alert sink: an SNS topic in AWS, a JSON-lines file locally.

Every alert says where it came from (DAG, task, run, window), what was measured against which
threshold, and which runbook in docs/runbooks.md to open, so the person paged starts from the
fix rather than from the logs.

SNS refuses a publish whose subject has a line break or is 100 characters or longer, or whose
message is over 256 KB; a refused alert would page nobody, so every alert is fitted to those
limits, and one that SNS still refuses is logged and kept in the local sink. Alerts travel to
e-mail and paging services: they name rows and columns, never a value from the data (a donor's
details can be the value that broke a load).

A check evaluated again and again (a figure each minute, a contract every 15 minutes, a task each
run) alerts once when it starts failing and once, "recovered", when it passes again: ``settle``
keeps each check's state in a small ledger beside the local sink (``alert_states.json`` in the
state dir, locked while it is read and written, so two DAGs' tasks take turns). On MWAA that is
the one worker's disk (mw1.micro has exactly one); a replaced worker forgets the ledger, which
costs at most one repeated alert per check still failing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.config import aws
from ingestion.config.settings import Settings

RUNBOOKS = "docs/runbooks.md"
# SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and less
# than 100 characters long"; messages "at most 256 KB in size (262,144 bytes)".
SUBJECT_MAX_CHARS = 99
MESSAGE_MAX_BYTES = 262_144
_PREFIX = "[accfb] "
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\s]+")

log = logging.getLogger(__name__)


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
    # What ``settle`` deduplicates on: the check this alert is about, whatever the run.
    check: str = ""

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOKS}#{self.runbook}"

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "runbook_url": self.runbook_url}


def alerts_path(settings: Settings) -> Path:
    return settings.state_dir / "alerts.jsonl"


def one_line(text: str) -> str:
    """Line breaks, control characters and runs of spaces as one space."""
    return _CONTROL.sub(" ", text).strip()


def sns_subject(alert: Alert) -> str:
    """The summary on one line, cut to fit SNS's subject (an e-mail's subject line)."""
    text = _PREFIX + one_line(alert.summary)
    if len(text) <= SUBJECT_MAX_CHARS:
        return text
    return text[: SUBJECT_MAX_CHARS - 3].rstrip() + "..."


def sns_message(alert: Alert) -> str:
    """The alert as indented JSON within SNS's message size; an oversized summary (a long error)
    is cut first, since where, what and the runbook are what the reader needs."""
    message = json.dumps(alert.as_dict(), indent=2)
    excess = len(message.encode()) - MESSAGE_MAX_BYTES
    if excess <= 0:
        return message
    summary = alert.summary.encode()[: max(0, len(alert.summary.encode()) - excess - 64)]
    shorter = replace(alert, summary=summary.decode(errors="ignore") + " [cut]")
    return json.dumps(shorter.as_dict(), indent=2)


_LINE = re.compile(r"\bline:?\s*(\d+)", re.IGNORECASE)
_COLUMN = re.compile(r"\bcolumn\s+\"?([A-Za-z_][A-Za-z0-9_]*)\"?", re.IGNORECASE)
_CAST_TYPE = re.compile(r"\bto '?([A-Z][A-Z0-9_]*)'?")


def without_values(reason: str) -> str:
    """A refused file's reason for an alert: which line and column, and what kind of fault,
    never the cell or the header it quotes (a headerless CRM export's first row is a donor).
    The full reason stays in the task log, which only the platform team reads."""
    line, column = _LINE.search(reason), _COLUMN.search(reason)
    if line or column:
        cast = _CAST_TYPE.search(reason)
        where = ", ".join(
            part
            for part in (
                f"line {line.group(1)}" if line else "",
                f"column {column.group(1)}" if column else "",
            )
            if part
        )
        kind = f"a value does not cast to {cast.group(1)}" if cast else "a value is refused"
        return f"{kind} at {where}"
    if "header" in reason.lower():
        return "its header is not the export's (names and order in the task log)"
    return "refused (the reason is in the task log)"


def send_alert(settings: Settings, alert: Alert) -> str:
    """Publish to SNS when a topic is set, otherwise append one line to the local sink. Never
    raises: a publish SNS refuses (or cannot take) is logged and kept in the local sink, so one
    alert's failure neither hides it nor stops the next one. Returns where the alert went."""
    if settings.alert_topic_arn:
        try:
            aws.client("sns", settings).publish(
                TopicArn=settings.alert_topic_arn,
                Subject=sns_subject(alert),
                Message=sns_message(alert),
            )
        except (BotoCoreError, ClientError):
            log.exception(
                "alert not published to %s; kept in %s: %s",
                settings.alert_topic_arn,
                alerts_path(settings),
                sns_subject(alert),
            )
        else:
            return "sns"
    path = alerts_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(alert.as_dict()) + "\n")
    return str(path)


def read_alerts(settings: Settings) -> list[dict[str, Any]]:
    """The local sink's alerts, oldest first."""
    path = alerts_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def ledger_path(settings: Settings) -> Path:
    return settings.state_dir / "alert_states.json"


@contextmanager
def _ledger(settings: Settings) -> Iterator[dict[str, dict[str, str]]]:
    """The checks' states, read and written back under an exclusive lock."""
    path = ledger_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            text = handle.read()
            states: dict[str, dict[str, str]] = json.loads(text) if text.strip() else {}
            yield states
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(states, indent=1, sort_keys=True))
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def settle(
    settings: Settings,
    scope: str,
    failing: Iterable[Alert],
    *,
    passing: Iterable[str] | None = None,
    **origin: str,
) -> list[Alert]:
    """Alert on what changed state within ``scope`` (a prefix of check names): each failing
    check not already failing, and one "recovered" notice for each check of the scope that was
    failing and is not now. ``passing`` names the checks that passed when the scope was only
    partly evaluated; by default every check of the scope not failing passed. Returns what was
    sent."""
    now_failing = {alert.check or f"{scope}{alert.summary}": alert for alert in failing}
    passed = None if passing is None else set(passing)
    sent: list[Alert] = []
    with _ledger(settings) as states:
        for check, alert in now_failing.items():
            if states.get(check, {}).get("state") != "failing":
                states[check] = {
                    "state": "failing",
                    "since": alert.raised_at,
                    "runbook": alert.runbook,
                }
                sent.append(replace(alert, check=check))
        for check, state in list(states.items()):
            if not check.startswith(scope) or check in now_failing:
                continue
            if state.get("state") != "failing" or (passed is not None and check not in passed):
                continue
            del states[check]
            sent.append(
                Alert(
                    summary=f"recovered: {check.removeprefix(scope) or check}",
                    runbook=state.get("runbook", "dag-failures"),
                    measured="passes",
                    threshold=f"failing since {state.get('since', '?')}",
                    check=check,
                    **origin,
                )
            )
    for alert in sent:
        send_alert(settings, alert)
    return sent
