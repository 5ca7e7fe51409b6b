"""One shard reader for everything that follows the stream (the lander and the archiver).

Reading a shard has three traps, handled here once: the shard list is paged; an iterator
expires five minutes after it was issued, and must be renewed from the caller's own position
(the last record it has safely kept), never from wherever reading had got to; and a closed
shard (after resharding) ends with no next iterator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    """One GetRecords answer for a shard."""

    records: list[dict[str, Any]]
    drained: bool  # no records and caught up with the shard's tip
    closed: bool  # the shard has no next iterator: nothing more will ever come

    @property
    def done(self) -> bool:
        return self.drained or self.closed


class ShardReader:
    """Reads shards page by page, keeping one iterator per shard between calls."""

    def __init__(self, kinesis: Any, stream_name: str, *, records_per_call: int = 10_000) -> None:
        self._kinesis = kinesis
        self._stream_name = stream_name
        self._limit = records_per_call
        self._iterators: dict[str, str] = {}

    def shard_ids(self) -> list[str]:
        shards: list[str] = []
        kwargs: dict[str, Any] = {"StreamName": self._stream_name}
        while True:
            page = self._kinesis.list_shards(**kwargs)
            shards.extend(s["ShardId"] for s in page["Shards"])
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    def read(self, shard_id: str, after: str | None) -> Page | None:
        """The shard's next page; None when its iterator expired.

        ``after`` is the caller's position (the last sequence number it has kept, None for the
        shard's start); it is used only when no live iterator is held, so after a None, calling
        again with the caller's position resumes exactly there.
        """
        iterator = self._iterators.get(shard_id) or self._new_iterator(shard_id, after)
        try:
            response = self._kinesis.get_records(ShardIterator=iterator, Limit=self._limit)
        except self._kinesis.exceptions.ExpiredIteratorException:
            self._iterators.pop(shard_id, None)
            return None
        records: list[dict[str, Any]] = response["Records"]
        next_iterator = response.get("NextShardIterator")
        if next_iterator is None:
            self._iterators.pop(shard_id, None)
        else:
            self._iterators[shard_id] = next_iterator
        return Page(
            records=records,
            drained=not records and response.get("MillisBehindLatest", 0) == 0,
            closed=next_iterator is None,
        )

    def read_range(self, shard_id: str, first: str, last: str) -> list[dict[str, Any]]:
        """Exactly the records from ``first`` to ``last`` (inclusive) that the shard still holds."""
        iterator: str | None = self._kinesis.get_shard_iterator(
            StreamName=self._stream_name,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=first,
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while iterator is not None:
            response = self._kinesis.get_records(ShardIterator=iterator, Limit=self._limit)
            for record in response["Records"]:
                if int(record["SequenceNumber"]) > int(last):
                    return records
                records.append(record)
            if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
        return records

    def forget(self) -> None:
        """Drop every held iterator: the next reads start again from the callers' positions."""
        self._iterators.clear()

    def _new_iterator(self, shard_id: str, after: str | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self._stream_name, "ShardId": shard_id}
        if after is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs |= {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": after,
            }
        iterator: str = self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"]
        return iterator
