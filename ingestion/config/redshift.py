"""The one way this project's Python opens Redshift: the workgroup's endpoint with temporary IAM
credentials (``redshift-serverless:GetCredentials``), never a stored password."""

from __future__ import annotations

from typing import Any

from ingestion.config.settings import Settings


def connect(settings: Settings) -> Any:
    import redshift_connector

    from ingestion.operations.checks import redshift_data_source

    login = redshift_data_source(settings)["connection"]
    return redshift_connector.connect(
        host=login["host"],
        port=login["port"],
        database=login["database"],
        user=login["user"],
        password=login["password"],
        timeout=login["connect_timeout"],
    )


def read(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one read-only query, in a read-only transaction (it can change nothing)."""
    return read_named(settings, sql, params)[1]


def read_named(
    settings: Settings, sql: str, params: tuple[Any, ...] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows of one read-only query, in a read-only transaction."""
    connection = connect(settings)
    try:
        # Autocommit, so the driver opens no transaction of its own before ours.
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute("begin read only")
        try:
            cursor.execute(sql, params or None)
            names = [str(column[0]) for column in cursor.description or ()]
            return names, [tuple(row) for row in cursor.fetchall() or ()]
        finally:
            cursor.execute("rollback")
    finally:
        connection.close()
