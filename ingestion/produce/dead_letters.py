"""Records Kinesis never accepted, kept on disk rather than in memory.

A producer that fails for a long time (a stream deleted, a key revoked) would otherwise hold
every refused payload in memory until it exits, and a person running `accfb publish` would have
nothing to re-send. Each refused record is appended as one JSON line (its bytes in base64, its
partition key, Kinesis's error code and message); ``read`` gives them back for a re-send or for
the demo's accounting.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ingestion.kinesis.batcher import FailedRecord, Record


class DeadLetters:
    """An append-only JSONL file of refused records; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, failures: Iterable[FailedRecord]) -> None:
        lines = [
            json.dumps(
                {
                    "data_base64": base64.b64encode(f.record.data).decode(),
                    "partition_key": f.record.partition_key,
                    "error_code": f.error_code,
                    "error_message": f.error_message,
                }
            )
            for f in failures
        ]
        if not lines:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as sink:
                sink.write("\n".join(lines) + "\n")


def for_run(state_dir: Path, command: str) -> DeadLetters:
    """A dead-letter file of its own for one run of ``command``, under the state directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return DeadLetters(state_dir / "dead-letters" / f"{command}-{stamp}.jsonl")


def read(path: Path) -> Iterator[FailedRecord]:
    """The refused records of a dead-letter file, in the order they were refused."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield FailedRecord(
                Record(base64.b64decode(item["data_base64"]), item["partition_key"]),
                item["error_code"],
                item["error_message"],
            )
