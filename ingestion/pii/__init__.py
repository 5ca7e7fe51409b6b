"""The keyed hash of donors' personal data, computed where the key lives and nowhere else.

``dim_donors.email_hash`` is HMAC-SHA256 of the trimmed, lower-cased email under a key that
analysts never see: joinable across tables, and useless to someone who guesses an email without
the key. The key is never part of SQL text. The models call one SQL function,
``f_accfb_pii_hmac(value)``, and the function holds the key:

- in Redshift, a Lambda UDF (``CREATE EXTERNAL FUNCTION``, ``redshift_udf``) that reads the key
  from Secrets Manager. Redshift stopped accepting new Python UDFs (patch 198, November 2025),
  and SQL alone has no HMAC: a key pasted into the SQL lands in compiled SQL, ``manifest.json``
  (which the auditors' docs site serves), ``run_results.json``, ``dbt.log`` and Redshift's query
  history, and a key table would need the key written by SQL once, into that same history;
- locally, a DuckDB function that dbt-duckdb registers on every connection (``duckdb_plugin``),
  reading ``ACCFB_PII_HASH_KEY`` through the settings.

Both compute ``keyed_hash``, so the two warehouses give the same hash for the same key.
"""
