"""The contract's bounds that JSON Schema cannot state, in one place for every checker.

The Python validator (validation.py), the SQL generator (sql.py, and so both warehouses), the
PutRecords batcher and the edge Lambdas read these, so a record is decided the same way
wherever it is checked. Standard library only: the edge Lambdas ship this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# One maximum record size, the widest text Redshift holds (VARCHAR(65535), in bytes), so every
# path keeps a record whole or refuses it alike: a record above it is refused at the producer
# and the edge, and quarantined as `too_large` if it reaches a landing any other way (a
# producer outside this repository, an archive object written by hand). Nothing is ever cut to
# fit. Kinesis takes up to 1 MiB, but Redshift could not keep such a record as text: its
# streaming view turns the bytes into VARCHAR, COPY loads the archive's JSON into VARCHAR, and
# a SUPER string is itself limited to 65,535 bytes unless a database parameter is opted in.
# docs/event-contract.md says why this and not 1 MiB; records are typically 1-4 KB.
MAX_RECORD_BYTES = 65_535

# The largest integer the contract accepts (2**53 - 1): it fits the warehouse's bigint columns
# and is exact in a float8, so the SQL bound check (which compares as float8) decides every
# integer the way Python's exact comparison does. The schemas state it as `maximum`.
MAX_INTEGER = 2**53 - 1

# Pound quantities land in decimal(18, 3): this bound keeps every accepted value far inside it.
MAX_POUNDS = 10**12

# occurred_at must lie in [floor, arrival on the stream + skew]: the floor is before any of the
# food bank's systems kept digital records, the skew allows for source clocks a little ahead.
# A later timestamp would move every "last hour" anchor of the marts into the future.
OCCURRED_AT_FIELD = "occurred_at"
OCCURRED_AT_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
MAX_FUTURE_SKEW = timedelta(minutes=5)

# Formats as one pattern each that Python's re, DuckDB's RE2 and Redshift's POSIX regex all read
# the same way (no lookaround, no non-capturing groups), so a calendar date is decided by the
# pattern itself: days per month, 29 February only in leap years, no year 0000, no hour 24.
_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = (
    "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])"
    "|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    "|02-(0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_YEAR = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)"
DATE_PATTERN = f"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
DATE_TIME_PATTERN = (
    f"{DATE_PATTERN}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]+)?"
    "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
# Identifiers hold no control character (U+0000-U+001F, U+007F): Redshift refuses NUL in text,
# and a tab or a newline inside a key splits the export, log or CSV line it reaches. The schemas
# say so with JSON Schema's `pattern`, which Python applies as it is (whole string); the
# warehouses' regex engines (RE2, POSIX) have no \u escape and say it with POSIX's class.
IDENTIFIER_PATTERN = "^[^\\u0000-\\u001f\\u007f]*$"
SQL_PATTERNS = {IDENTIFIER_PATTERN: "^[^[:cntrl:]]*$"}

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
