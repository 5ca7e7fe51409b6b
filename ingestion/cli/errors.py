"""What a failed `accfb` command tells the person who ran it: one or two lines, then an exit code.

Every command runs inside :func:`handled`, so a command added later gets the same treatment
without a line of its own. An error the project knows says what is wrong and what to do; any
other says what it is and where the trace is. Exit 2 is a usage or configuration error (nothing
ran), 1 a failure at run time. The trace is logged at DEBUG (``ACCFB_LOG_LEVEL=DEBUG``), as dbt
and psql keep theirs behind a flag: a traceback is for whoever reads the code, and its locals and
messages can hold donor records.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

log = logging.getLogger("accfb")

USAGE = 2
RUNTIME = 1
_TRACE_HINT = "ACCFB_LOG_LEVEL=DEBUG shows the trace"


class CommandError(RuntimeError):
    """A failure a command explains itself: ``hint`` says what to do, ``code`` how it exits."""

    def __init__(self, message: str, hint: str | None = None, code: int = RUNTIME) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


class Unavailable(CommandError):
    """What the command was asked cannot run on this target (say so, never skip quietly)."""


class QueryFailed(CommandError):
    """The warehouse refused a query; the message is already in psql's form."""


@dataclass(frozen=True)
class Explained:
    message: str
    hint: str | None
    code: int
    # A database's own error, shown as psql shows it rather than behind "accfb: error:".
    verbatim: bool = False


def psql_error(error: BaseException, query: str | None = None) -> str:
    """A database error as psql prints one: ``ERROR:  message``, then the line and a caret.

    DuckDB puts the line and caret in its message already; Redshift's driver carries the
    server's fields (``M`` the message, ``P`` the 1-based character position in the query).
    """
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else None
    if fields is not None:
        text = f"ERROR:  {fields.get('M', error)}"
        position = int(fields.get("P", 0) or 0)
        if query is not None and position > 0:
            text += "\n" + _caret(query, position)
        return text
    first, _, rest = str(error).partition("\n")
    # "Parser Error: syntax error ..." -> "syntax error ...": the class is DuckDB's, not ours.
    message = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", first)
    lines = [f"ERROR:  {message}", *(line for line in rest.splitlines() if line.strip())]
    return "\n".join(lines)


def is_database_error(error: BaseException) -> bool:
    """An error the warehouse raised about a query (DuckDB's or Redshift's driver)."""
    import duckdb
    from redshift_connector.error import Error as RedshiftError

    return isinstance(error, duckdb.Error | RedshiftError)


def _caret(query: str, position: int) -> str:
    before = query[: position - 1]
    number = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    line = query[line_start:].split("\n", 1)[0]
    prefix = f"LINE {number}: "
    return f"{prefix}{line}\n{' ' * (len(prefix) + position - 1 - line_start)}^"


def _settings_error(error: Any) -> Explained:
    problems = []
    for item in error.errors():
        if item["type"] == "missing" and item["loc"]:
            problems.append(f"ACCFB_{str(item['loc'][0]).upper()} is not set")
        elif item["loc"]:
            # The message, never the input: a rejected value can be a secret.
            problems.append(f"ACCFB_{str(item['loc'][0]).upper()}: {item['msg']}")
        else:
            problems.append(str(item["msg"]).removeprefix("Value error, "))
    return Explained(
        "settings: " + "; ".join(problems),
        "ACCFB_ENVIRONMENT=local runs the laptop default; the README's Settings table lists "
        "every variable",
        USAGE,
    )


def _is_lock(error: BaseException) -> bool:
    return "conflicting lock" in str(error).lower() or "could not set lock" in str(error).lower()


def explain(error: BaseException) -> Explained:
    """The one or two lines for ``error`` and its exit code."""
    # Imported here: `accfb --help` should not pay for the drivers.
    import duckdb
    import pydantic
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from ingestion.config.dbt import DbtError
    from ingestion.landing.lander import StreamMismatch
    from ingestion.local.localaws import LocalAwsError

    first_line = str(error).strip().split("\n", 1)[0]
    if isinstance(error, QueryFailed):
        return Explained(str(error), None, error.code, verbatim=True)
    if isinstance(error, CommandError):
        return Explained(str(error), error.hint, error.code)
    if isinstance(error, pydantic.ValidationError):
        return _settings_error(error)
    if isinstance(error, DbtError) and not _is_lock(error):
        # dbt's messages run over lines (a list of targets, a compiled path): one line here.
        return Explained(
            " ".join(str(error).split()),
            "dbt's own log is dbt.log under ACCFB_STATE_DIR/dbt/logs",
            RUNTIME,
        )
    if isinstance(error, StreamMismatch):
        return Explained(str(error), None, RUNTIME)
    if isinstance(error, LocalAwsError):
        return Explained(
            f"local endpoint: {error}", "`accfb up` starts it; `accfb down` stops it", RUNTIME
        )
    if isinstance(error, duckdb.IOException | DbtError) and _is_lock(error):
        holder = re.search(r"\(PID \d+\)", str(error))
        return Explained(
            "the warehouse file is held by another process"
            + (f" {holder.group(0)}" if holder else "")
            + " (a demo, `accfb ingest`, Airflow or a DuckDB session)",
            "wait for it or stop it; `accfb sql` reads the serving copy meanwhile",
            RUNTIME,
        )
    if isinstance(error, duckdb.Error):
        return Explained(psql_error(error), None, RUNTIME, verbatim=True)
    if isinstance(error, NoCredentialsError):
        return Explained(
            "no AWS credentials: the target is AWS (ACCFB_AWS_ENDPOINT_URL is unset)",
            "log in to AWS (AWS_PROFILE), or run the local default with ACCFB_ENVIRONMENT=local "
            "and ACCFB_AWS_ENDPOINT_URL=http://127.0.0.1:4566",
            RUNTIME,
        )
    if isinstance(error, ClientError | BotoCoreError):
        return Explained(f"AWS: {first_line}", _TRACE_HINT, RUNTIME)
    return Explained(f"{type(error).__name__}: {first_line}", _TRACE_HINT, RUNTIME)


def _fail(error: BaseException) -> NoReturn:
    log.debug("accfb failed", exc_info=error)
    explained = explain(error)
    print(
        explained.message if explained.verbatim else f"accfb: error: {explained.message}",
        file=sys.stderr,
    )
    if explained.hint:
        print(f"hint: {explained.hint}", file=sys.stderr)
    sys.exit(explained.code)


@contextmanager
def handled() -> Iterator[None]:
    """Run a command; turn what it raises into its lines and exit code."""
    try:
        yield
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the one place every error is turned into words
        _fail(error)
