"""The streaming landing: the stream into the warehouse, every record untouched.

In AWS this is Redshift's streaming materialized view (``models/landing/``); locally
``lander`` stands in for it, appending each shard's records to ``lander.kinesis_records`` with
the view's columns. Its position is the landed data itself, committed with the rows, so a crash
anywhere neither loses nor duplicates a record.
"""
