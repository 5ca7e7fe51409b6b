"""Scheduled poller for the warehouse and partner APIs: EventBridge Scheduler -> this -> Kinesis.

Each invocation polls one source from its saved cursor. Per page: wrap each item in the event
envelope, put every record on the stream, and only then advance the cursor (a conditional write,
so two overlapping polls cannot both advance it). A crash or throttle between the two means the
next poll re-reads the page; the items get the same `event_id` (derived from source and item id),
so the warehouse's dedup counts them once. Nothing is lost and nothing is double counted.

A bad item never stalls a source: an item that is not an object still goes on the stream in
its envelope (the warehouse quarantines it with its reason), and one whose record would exceed
the contract's record limit, or that repeats a key the contract reads (which value the API meant
is unknowable, and Redshift could not tell), is dead-lettered and skipped, so the cursor moves
on. A dead letter names the item (source, cursor, event_id, reason, size), never its content:
items carry donor PII. In AWS each one is a message on the poller's item dead-letter queue,
which an operator re-fetches by hand from its cursor, and the poll's count of them is the
``PollerDeadLetters`` metric the monitoring stack alarms on.
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ingestion.contract.keys import partition_key
from ingestion.contract.limits import MAX_RECORD_BYTES
from ingestion.edge.config import EdgeConfig
from ingestion.kinesis.batcher import Batcher, Record, put_batch

# The pipeline's metric namespace (ingestion.config.constants.METRIC_NAMESPACE, which the edge
# package does not ship; a test holds them equal).
METRIC_NAMESPACE = "ACCFB/Pipeline"

# Fixed namespace: the same (source, item id) must map to the same event_id forever.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c7a56-4f8e-4a55-9b7e-2c1d5a0e9b31")

log = logging.getLogger(__name__)


class PollFailed(RuntimeError):
    """Records were not accepted: the cursor stays put and the scheduler's retry re-reads."""


@dataclass(frozen=True)
class Page:
    items: Sequence[object]  # API items: objects, unless the API misbehaves
    next_cursor: str | None


Fetch = Callable[[str, str | None], Page]


@dataclass(frozen=True)
class PollReport:
    source: str
    pages: int
    events: int
    cursor: str | None
    dead_letters: int = 0


@dataclass(frozen=True)
class DeadLetter:
    """An item the stream cannot take, named so it can be fetched again by hand."""

    source: str
    cursor: str | None
    event_id: str
    reason: str
    size: int


def log_dead_letter(letter: DeadLetter) -> None:
    log.error(
        "dead letter from %s at cursor %s: event %s, %s (%d bytes)",
        letter.source, letter.cursor, letter.event_id, letter.reason, letter.size,
    )  # fmt: skip


@dataclass
class QueueDeadLetters:
    """Dead letters kept on an SQS queue (14 days, like the scheduler's), one message each."""

    sqs: Any
    queue_url: str

    def __call__(self, letter: DeadLetter) -> None:
        log_dead_letter(letter)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({**asdict(letter), "kind": "poller_item"}),
        )


def publish_dead_letter_count(cloudwatch: Any, environment: str, report: PollReport) -> None:
    """One datapoint a poll, zero included, so the alarm sees a poller that runs cleanly."""
    cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": "PollerDeadLetters",
                "Dimensions": [{"Name": "Environment", "Value": environment}],
                "Value": report.dead_letters,
                "Unit": "Count",
            }
        ],
    )


class _RepeatedKeys(dict[str, Any]):
    """An object of the API's JSON that repeated a key (json keeps the last value silently)."""


def _marking_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _RepeatedKeys(obj)


def repeats_a_key(item: object) -> bool:
    """Whether the item, or what becomes the payload or its donor, repeated a key: the objects
    the contract reads (validation.OBJECT_PATHS), so extra fields stay as sent."""
    data = item.get("data") if isinstance(item, Mapping) else None
    donor = data.get("donor") if isinstance(data, Mapping) else None
    return any(isinstance(obj, _RepeatedKeys) for obj in (item, data, donor))


def event_id(source: str, item: object) -> str:
    """Stable across re-polls: from the item's own id, or from its content if it has none."""
    item_id = item.get("id") if isinstance(item, Mapping) else None
    key = (
        str(item_id)
        if item_id is not None
        else hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
    )
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{key}"))


def envelope(source: str, item: object, emitted_at: datetime) -> bytes:
    """The contract's envelope around one API item; unknown fields stay in the payload. An item
    that is not an object becomes the payload of an envelope with no event type, which the
    warehouse quarantines with its reason."""
    if not isinstance(item, Mapping):
        item = {"data": item}
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
    dead_letter: Callable[[DeadLetter], None] = log_dead_letter

    def poll(self, source: str) -> PollReport:
        cursor = self.cursors.get(source)
        pages = events = dead = 0
        for _ in range(self.max_pages):
            page = self.fetch(source, cursor)
            if not page.items:
                break
            now = self.clock()
            records = []
            for item in page.items:
                record = envelope(source, item, now)
                reason = (
                    "too_large"
                    if len(record) > MAX_RECORD_BYTES
                    else "duplicate_key"
                    if repeats_a_key(item)
                    else None
                )
                if reason is not None:
                    self.dead_letter(
                        DeadLetter(source, cursor, event_id(source, item), reason, len(record))
                    )
                    dead += 1
                    continue
                records.append(record)
            self._put_all(records)
            pages += 1
            events += len(records)
            if page.next_cursor is None or page.next_cursor == cursor:
                break
            self.cursors.advance(source, cursor, page.next_cursor)
            cursor = page.next_cursor
        return PollReport(
            source=source, pages=pages, events=events, cursor=cursor, dead_letters=dead
        )

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
            body = json.load(response, object_pairs_hook=_marking_repeats)
        items = body.get("items", []) if isinstance(body, dict) else None
        next_cursor = body.get("next_cursor") if isinstance(body, dict) else None
        if not isinstance(items, list) or not isinstance(next_cursor, str | None):
            # Not a page at all: nothing can be put or skipped, so the cursor stays put.
            raise PollFailed(f"{source} answered something that is not a page")
        return Page(items=items, next_cursor=next_cursor)

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
        dead_letter=QueueDeadLetters(config.client("sqs"), config.poller_dead_letter_queue_url),
    )


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    report = _poller().poll(event["source"])
    log.info("polled %s: %d events in %d pages", report.source, report.events, report.pages)
    config = EdgeConfig.from_env()
    publish_dead_letter_count(config.client("cloudwatch"), config.environment, report)
    return {
        "source": report.source,
        "events": report.events,
        "pages": report.pages,
        "dead_letters": report.dead_letters,
    }
