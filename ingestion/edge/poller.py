"""Scheduled poller for the warehouse and partner APIs: EventBridge Scheduler -> this -> Kinesis.

Each invocation polls one source from its saved cursor. Per page: wrap each item in the event
envelope, put every record on the stream, and only then advance the cursor (a conditional write,
so two overlapping polls cannot both advance it). A crash or throttle between the two means the
next poll re-reads the page; the items get the same `event_id` (derived from source and item id),
so the warehouse's dedup counts them once. Nothing is lost and nothing is double counted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ingestion.contract.keys import partition_key
from ingestion.edge.config import EdgeConfig
from ingestion.kinesis.batcher import Batcher, Record, put_batch

# Fixed namespace: the same (source, item id) must map to the same event_id forever.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c7a56-4f8e-4a55-9b7e-2c1d5a0e9b31")

log = logging.getLogger(__name__)


class PollFailed(RuntimeError):
    """Records were not accepted: the cursor stays put and the scheduler's retry re-reads."""


@dataclass(frozen=True)
class Page:
    items: Sequence[Mapping[str, Any]]
    next_cursor: str | None


Fetch = Callable[[str, str | None], Page]


@dataclass(frozen=True)
class PollReport:
    source: str
    pages: int
    events: int
    cursor: str | None


def event_id(source: str, item: Mapping[str, Any]) -> str:
    """Stable across re-polls: from the item's own id, or from its content if it has none."""
    item_id = item.get("id")
    key = (
        str(item_id)
        if item_id is not None
        else hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
    )
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{key}"))


def envelope(source: str, item: Mapping[str, Any], emitted_at: datetime) -> bytes:
    """The contract's envelope around one API item; unknown fields stay in the payload."""
    event = {
        "event_id": event_id(source, item),
        "event_type": item.get("type"),
        "schema_version": item.get("schema_version", 1),
        "source": source,
        "occurred_at": item.get("occurred_at"),
        "emitted_at": emitted_at.isoformat(timespec="milliseconds"),
        "payload": item.get("data", {}),
    }
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass
class CursorStore:
    """One item per source in DynamoDB: {source, cursor, updated_at}."""

    dynamodb: Any
    table: str

    def get(self, source: str) -> str | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"source": {"S": source}}, ConsistentRead=True
        ).get("Item")
        return item["cursor"]["S"] if item and "cursor" in item else None

    def advance(self, source: str, previous: str | None, new: str) -> None:
        condition = "attribute_not_exists(#c)" if previous is None else "#c = :prev"
        values: dict[str, Any] = {":now": {"S": datetime.now(UTC).isoformat()}, ":new": {"S": new}}
        if previous is not None:
            values[":prev"] = {"S": previous}
        self.dynamodb.update_item(
            TableName=self.table,
            Key={"source": {"S": source}},
            UpdateExpression="SET #c = :new, updated_at = :now",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#c": "cursor"},
            ExpressionAttributeValues=values,
        )


@dataclass
class Poller:
    kinesis: Any
    stream_name: str
    cursors: CursorStore
    fetch: Fetch
    max_pages: int = 50
    put_attempts: int = 5
    put_deadline_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def poll(self, source: str) -> PollReport:
        cursor = self.cursors.get(source)
        pages = events = 0
        for _ in range(self.max_pages):
            page = self.fetch(source, cursor)
            if not page.items:
                break
            now = self.clock()
            self._put_all([envelope(source, item, now) for item in page.items])
            pages += 1
            events += len(page.items)
            if page.next_cursor is None or page.next_cursor == cursor:
                break
            self.cursors.advance(source, cursor, page.next_cursor)
            cursor = page.next_cursor
        return PollReport(source=source, pages=pages, events=events, cursor=cursor)

    def _put_all(self, records: list[bytes]) -> None:
        batcher = Batcher()
        batches = [full for r in records if (full := batcher.add(Record(r, partition_key(r))))]
        if len(batcher):
            batches.append(batcher.take())
        for batch in batches:
            outcome = put_batch(
                self.kinesis,
                self.stream_name,
                batch,
                max_attempts=self.put_attempts,
                deadline_seconds=self.put_deadline_seconds,
                sleep=self.sleep,
            )
            if outcome.failed:
                codes = sorted({f.error_code for f in outcome.failed})
                raise PollFailed(
                    f"{len(outcome.failed)} records not accepted by the stream: {codes}"
                )


def http_fetch(urls: Mapping[str, str], tokens: Mapping[str, str], timeout: float = 10) -> Fetch:
    """GET <url>?cursor=... with a bearer token; the API answers {items, next_cursor}."""

    def fetch(source: str, cursor: str | None) -> Page:
        query = f"?{urllib.parse.urlencode({'cursor': cursor})}" if cursor else ""
        # S310: the URL is configuration (https or loopback), never input.
        request = urllib.request.Request(  # noqa: S310
            urls[source] + query,
            headers={"Authorization": f"Bearer {tokens[source]}", "Accept": "application/json"},
        )
        # S310: the URL is configuration (https or loopback), never input.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.load(response)
        return Page(items=body.get("items", []), next_cursor=body.get("next_cursor"))

    return fetch


@cache
def _poller() -> Poller:
    # Once per Lambda container; the credentials are re-read when the container is recycled.
    config = EdgeConfig.from_env()
    secrets = config.client("secretsmanager")
    tokens = json.loads(
        secrets.get_secret_value(SecretId=config.poller_credentials_arn)["SecretString"]
    )
    return Poller(
        kinesis=config.client("kinesis"),
        stream_name=config.stream_name,
        cursors=CursorStore(config.client("dynamodb"), config.cursor_table),
        fetch=http_fetch(config.poll_sources, tokens),
    )


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    report = _poller().poll(event["source"])
    log.info("polled %s: %d events in %d pages", report.source, report.events, report.pages)
    return {"source": report.source, "events": report.events, "pages": report.pages}
