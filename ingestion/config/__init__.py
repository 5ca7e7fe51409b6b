"""Configuration and the clients every stage shares.

One typed settings object read from ``ACCFB_*`` variables (``settings``), one boto3 client
factory (``clients``, standard library and boto3 only, so the Lambdas use it too; ``aws`` binds
it to the settings), the DuckDB warehouse taken in turns (``warehouse``), dbt run in-process
(``dbt``), DuckDB's way to S3 and the load manifests (``s3_access``), and the constants the
runtime and the AWS deployment share (``constants``: ``infra/`` imports them from here, never
the other way round, so an installed package needs nothing outside itself).
"""
