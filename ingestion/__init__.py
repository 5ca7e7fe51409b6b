"""The ACCFB pipeline's Python package, one subpackage per stage of the data's path.

Read top to bottom, the folders are the path an event takes: ``config`` (settings and the
clients every stage shares), ``contract`` (what a valid event is), ``kinesis`` (the stream's
own mechanics: the PutRecords batcher and the shard reader), ``produce`` (putting events on
the stream), ``landing`` (the stream into the warehouse), ``archive`` (the stream into the raw
bucket), ``replay`` (archive windows back into the warehouse), ``batch`` (CSV exports into the
warehouse), ``operations`` (reconcile, trace, checks, metrics, alerts, cost), ``edge`` (the
Lambda handlers), ``local`` (the stand-ins for AWS and Airflow on a laptop), ``demo`` (the
simulator and the end-to-end demo) and ``cli`` (the ``accfb`` command).

This file stays empty of imports: the Lambda assets ship it, and the Lambda runtime has only
the standard library and boto3.
"""
