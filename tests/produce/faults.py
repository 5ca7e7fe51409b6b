"""Kinesis faults injected between a real boto3 client and the real local endpoint.

A botocore ``before-send`` hook sees each PutRecords request before it leaves. To fail some
records the way Kinesis does, it sends the call on without them, then splices failure entries
into the real response at their positions: a record reported as failed really was not written,
exactly as in AWS. A whole-call throttle answers with Kinesis's 400 error and sends nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import requests
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

Decide = Callable[[int, int, dict[str, Any]], str | None]


class _Raw:
    """The minimal stream interface botocore reads a response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def _response(url: str, status: int, payload: dict[str, Any]) -> AWSResponse:
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "content-length": str(len(body))}
    return AWSResponse(url, status, headers, _Raw(body))


class KinesisFaults:
    """Attach to a client; ``decide(call, index, record)`` names an ErrorCode to fail a record."""

    def __init__(
        self,
        client: Any,
        *,
        decide: Decide | None = None,
        throttle_calls: int = 0,
        throttle_forever: bool = False,
        delay_seconds: float = 0.0,
    ) -> None:
        self.decide = decide
        self.throttle_calls = throttle_calls
        self.throttle_forever = throttle_forever
        self.delay_seconds = delay_seconds
        self.calls = 0
        self.records_per_call: list[int] = []
        self.bytes_per_call: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        client.meta.events.register("before-send.kinesis.PutRecords", self._before_send)

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        with self._lock:
            call = self.calls
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._handle(call, request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, call: int, request: AWSPreparedRequest) -> AWSResponse | None:
        if self.delay_seconds:
            threading.Event().wait(self.delay_seconds)
        if self.throttle_forever or call < self.throttle_calls:
            return _response(
                request.url,
                400,
                {
                    "__type": "ProvisionedThroughputExceededException",
                    "message": "Rate exceeded for stream (injected)",
                },
            )
        body = json.loads(request.body or b"{}")
        records = body["Records"]
        with self._lock:
            self.records_per_call.append(len(records))
            self.bytes_per_call.append(
                sum(len(r["Data"]) * 3 // 4 + len(r["PartitionKey"]) for r in records)
            )
        failures = {
            i: code
            for i, record in enumerate(records)
            if self.decide and (code := self.decide(call, i, record))
        }
        if not failures:
            return None  # botocore sends the request unchanged
        kept = [r for i, r in enumerate(records) if i not in failures]
        results: list[dict[str, Any]] = []
        if kept:
            real = requests.post(
                request.url,
                data=json.dumps({**body, "Records": kept}),
                headers={k: v for k, v in request.headers.items() if k.lower() != "content-length"},
                timeout=30,
            )
            real.raise_for_status()
            results = real.json()["Records"]
        merged, accepted = [], iter(results)
        for i in range(len(records)):
            if i in failures:
                merged.append({"ErrorCode": failures[i], "ErrorMessage": "injected"})
            else:
                merged.append(next(accepted))
        return _response(request.url, 200, {"FailedRecordCount": len(failures), "Records": merged})
