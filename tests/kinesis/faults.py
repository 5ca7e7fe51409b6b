"""A real Kinesis client whose GetRecords fails on chosen calls, the way AWS fails them."""

from __future__ import annotations

from typing import Any


class FailingReads:
    """Wraps the real client: GetRecords call number ``n`` (from 1) raises per ``failures``.

    ``"expired"`` raises Kinesis's ExpiredIteratorException; ``"error"`` a transient failure
    that reaches the caller (botocore's retries exhausted).
    """

    def __init__(self, client: Any, failures: dict[int, str]) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self._failures = failures
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_records(self, **kwargs: Any) -> Any:
        self.calls += 1
        failure = self._failures.get(self.calls)
        if failure == "expired":
            raise self._client.exceptions.ExpiredIteratorException(
                {"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords"
            )
        if failure == "error":
            raise self._client.exceptions.KMSThrottlingException(
                {"Error": {"Code": "KMSThrottlingException", "Message": "injected"}}, "GetRecords"
            )
        return self._client.get_records(**kwargs)
