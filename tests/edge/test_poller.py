"""The API poller: the cursor moves only after Kinesis accepted a page; re-polls dedupe."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ingestion.config.settings import Settings
from ingestion.edge.config import EdgeConfig
from ingestion.edge.poller import CursorStore, Page, Poller, PollFailed, event_id
from tests.streams import read_stream


class FakeApi:
    """A paginated API: cursor i returns items[i*size:(i+1)*size] and cursor i+1."""

    def __init__(self, items: Sequence[dict[str, Any]], size: int = 2) -> None:
        self.items = list(items)
        self.size = size
        self.calls: list[str | None] = []

    def __call__(self, source: str, cursor: str | None) -> Page:
        self.calls.append(cursor)
        start = int(cursor or 0) * self.size
        chunk = self.items[start : start + self.size]
        return Page(items=chunk, next_cursor=str(int(cursor or 0) + 1) if chunk else cursor)


def _items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"rcpt-{i}",
            "type": "inventory.received",
            "occurred_at": "2026-11-24T09:00:00Z",
            "data": {"receipt_id": f"rcpt-{i}", "site_id": "oakland", "lbs": 10.5},
        }
        for i in range(n)
    ]


def _poller(config: EdgeConfig, api: FakeApi, kinesis: Any = None, **kw: Any) -> Poller:
    return Poller(
        kinesis=kinesis or config.client("kinesis"),
        stream_name=config.stream_name,
        cursors=CursorStore(config.client("dynamodb"), config.cursor_table),
        fetch=api,
        sleep=lambda _: None,
        clock=lambda: datetime(2026, 11, 24, 17, 0, tzinfo=UTC),
        **kw,
    )


def test_poll_puts_every_item_as_a_contract_envelope_and_saves_the_cursor(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    report = _poller(edge_config, FakeApi(_items(5))).poll("warehouse")
    assert (report.events, report.pages, report.cursor) == (5, 3, "3")
    events = [json.loads(data) for _, _, data in read_stream(provisioned)]
    assert sorted(e["payload"]["receipt_id"] for e in events) == [f"rcpt-{i}" for i in range(5)]
    assert {e["source"] for e in events} == {"warehouse"}
    assert {e["event_type"] for e in events} == {"inventory.received"}
    cursors = CursorStore(edge_config.client("dynamodb"), edge_config.cursor_table)
    assert cursors.get("warehouse") == "3"


def test_next_poll_resumes_from_the_cursor_and_writes_nothing_new(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    api = FakeApi(_items(4))
    _poller(edge_config, api).poll("warehouse")
    api.calls.clear()
    report = _poller(edge_config, api).poll("warehouse")
    assert report.events == 0
    assert api.calls == ["2"]
    assert len(read_stream(provisioned)) == 4


class RejectingKinesis:
    """Throttles every record: the stream is saturated for longer than the retries."""

    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "FailedRecordCount": len(kwargs["Records"]),
            "Records": [
                {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow"}
                for _ in kwargs["Records"]
            ],
        }


def test_a_page_the_stream_did_not_accept_leaves_the_cursor_so_it_is_re_read(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    api = FakeApi(_items(2))
    with pytest.raises(PollFailed):
        _poller(edge_config, api, kinesis=RejectingKinesis()).poll("warehouse")
    cursors = CursorStore(edge_config.client("dynamodb"), edge_config.cursor_table)
    assert cursors.get("warehouse") is None
    # The scheduler's retry re-reads the same page and succeeds.
    assert _poller(edge_config, api).poll("warehouse").events == 2


def test_re_polled_items_get_the_same_event_id_so_they_count_once(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    items = _items(2)
    api = FakeApi(items)
    _poller(edge_config, api).poll("warehouse")
    # Simulate a crash after the put but before the cursor write: the page is read again.
    CursorStore(edge_config.client("dynamodb"), edge_config.cursor_table).dynamodb.delete_item(
        TableName=edge_config.cursor_table, Key={"source": {"S": "warehouse"}}
    )
    _poller(edge_config, api).poll("warehouse")
    ids = [json.loads(data)["event_id"] for _, _, data in read_stream(provisioned)]
    assert len(ids) == 4 and len(set(ids)) == 2
    assert set(ids) == {event_id("warehouse", item) for item in items}


def test_event_id_depends_on_source_and_item_not_on_when_it_was_polled() -> None:
    item = {"id": "ord-1", "type": "partner.order_placed"}
    assert event_id("partner_api", item) == event_id("partner_api", dict(item))
    assert event_id("partner_api", item) != event_id("warehouse", item)
    assert event_id("partner_api", {"type": "x", "data": {"a": 1}}) == event_id(
        "partner_api", {"data": {"a": 1}, "type": "x"}
    )


def test_a_page_is_put_in_calls_of_at_most_5_mib(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    from tests.produce.faults import KinesisFaults

    kinesis = edge_config.client("kinesis")
    faults = KinesisFaults(kinesis)
    big = [{**item, "data": {**item["data"], "note": "n" * 60_000}} for item in _items(100)]
    report = _poller(edge_config, FakeApi(big, size=100), kinesis=kinesis).poll("warehouse")
    assert report.events == 100
    assert len(faults.records_per_call) >= 2  # a hundred ~60 KB records cannot fit one call
    assert max(faults.bytes_per_call) <= 5 * 1024 * 1024
    assert len(read_stream(provisioned)) == 100


def test_bad_items_never_stall_the_source(edge_config: EdgeConfig, provisioned: Settings) -> None:
    # A page holding a non-object item and an item too large for the stream, among good ones.
    items: list[Any] = _items(4)
    items[1] = ["not", "an", "object"]
    items[2] = {**items[2], "data": {"notes": "x" * (1024 * 1024)}}
    letters: list[Any] = []
    report = _poller(edge_config, FakeApi(items), dead_letter=letters.append).poll("warehouse")

    assert (report.events, report.dead_letters, report.cursor) == (3, 1, "2")
    assert [(d.reason, d.event_id) for d in letters] == [
        ("too_large", event_id("warehouse", items[2]))
    ]
    assert letters[0].size > 1024 * 1024 and "x" * 100 not in repr(letters[0])
    events = [json.loads(data) for _, _, data in read_stream(provisioned)]
    # The non-object item is on the stream in its envelope, for quarantine with a reason.
    odd = next(e for e in events if e["payload"] == ["not", "an", "object"])
    good = sorted(e["payload"]["receipt_id"] for e in events if e is not odd)
    assert good == ["rcpt-0", "rcpt-3"]
    from ingestion.contract import validate_record

    assert [v.reason for v in validate_record(json.dumps(odd))][:1] == ["wrong_type:event_type"]


def _api_item(text: str) -> Any:
    """An item as http_fetch parses the API's JSON (repeated keys marked)."""
    from ingestion.edge.poller import _marking_repeats

    return json.loads(text, object_pairs_hook=_marking_repeats)


def test_an_item_that_repeats_a_key_the_contract_reads_is_dead_lettered(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    items: list[Any] = _items(4)
    good = json.dumps(items[1])
    items[1] = _api_item(good.replace('"lbs": 10.5', '"lbs": 10.5, "lbs": 99'))
    items[2] = _api_item(json.dumps(items[2])[:-1] + ', "extra": {"k": 1, "k": 2}}')
    letters: list[Any] = []
    report = _poller(edge_config, FakeApi(items), dead_letter=letters.append).poll("warehouse")

    assert (report.events, report.dead_letters, report.cursor) == (3, 1, "2")
    assert [(d.reason, d.event_id) for d in letters] == [
        ("duplicate_key", event_id("warehouse", items[1]))
    ]
    receipts = sorted(
        json.loads(d)["payload"]["receipt_id"] for _, _, d in read_stream(provisioned)
    )
    assert receipts == ["rcpt-0", "rcpt-2", "rcpt-3"]  # a repeat in an extra field is kept


def test_http_fetch_marks_the_repeats_json_would_hide(tmp_path: Any) -> None:
    import http.server
    import threading

    from ingestion.edge.poller import http_fetch, repeats_a_key

    body = (
        b'{"items": [{"id": "a", "data": {"lbs": 1, "lbs": 2}}, {"id": "b"}], "next_cursor": null}'
    )

    class Api(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/items"
        page = http_fetch({"warehouse": url}, {"warehouse": "t"})("warehouse", None)
    finally:
        server.shutdown()
    assert [repeats_a_key(item) for item in page.items] == [True, False]


def test_dead_letters_are_kept_on_a_queue_and_counted_in_a_metric(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    from ingestion.config.constants import METRIC_NAMESPACE
    from ingestion.edge import poller

    assert poller.METRIC_NAMESPACE == METRIC_NAMESPACE
    sqs: Any = edge_config.client("sqs")
    queue = sqs.create_queue(QueueName=f"dlq-{edge_config.cursor_table}")["QueueUrl"]
    items: list[Any] = _items(3)
    items[0] = {**items[0], "data": {"notes": "x" * 70_000}}
    sink = poller.QueueDeadLetters(sqs, queue)
    report = _poller(edge_config, FakeApi(items), dead_letter=sink).poll("warehouse")
    assert report.dead_letters == 1

    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    letter = json.loads(message["Body"])
    assert letter["reason"] == "too_large" and letter["event_id"] == event_id("warehouse", items[0])
    assert letter["cursor"] is None and letter["size"] > 70_000
    assert "xxxx" not in message["Body"]  # the item's content (donor PII) is never kept

    cloudwatch: Any = edge_config.client("cloudwatch")
    poller.publish_dead_letter_count(cloudwatch, "local", report)
    metrics = cloudwatch.list_metrics(Namespace=METRIC_NAMESPACE, MetricName="PollerDeadLetters")
    assert metrics["Metrics"], "the poll's dead-letter count is a metric"
