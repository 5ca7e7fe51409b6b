"""moto's server for the local AWS endpoint, handling one request at a time.

moto's Kinesis gives a new record the shard's highest sequence number plus one, without a lock.
Under concurrent PutRecords calls (the producer keeps several in flight, and the lander reads at
the same time) two records can get the same number and one of them silently replaces the other:
we saw 2 of 2,000 records vanish. Serialising requests removes the race; connections are still
accepted on threads, so a slow client does not block the others' sockets.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: Wsgi) -> Wsgi:
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # Materialise the body inside the lock: moto's work happens while it is produced.
            return list(app(environ, start_response))

    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialised(app), threaded=True)


if __name__ == "__main__":
    main()
