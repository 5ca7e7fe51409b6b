"""dbt-duckdb plugin: registers ``f_accfb_pii_hmac`` on every connection dbt opens to the local
warehouse (``plugins`` in profiles/profiles.yml), with the key from the settings, so the key
reaches the function but never the SQL."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

from ingestion.config.settings import Settings
from ingestion.pii.keyed_hash import SQL_FUNCTION, keyed_hash


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        key = Settings.from_environment().pii_hash_key.get_secret_value().encode()

        def hashed(value: str) -> str | None:
            return keyed_hash(key, value)

        conn.create_function(SQL_FUNCTION, hashed, [VARCHAR], VARCHAR)
