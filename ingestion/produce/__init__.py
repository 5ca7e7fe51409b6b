"""Producing onto the stream: events from the sources (or a file) onto Kinesis.

``producer`` keeps a bounded number of PutRecords calls in flight and never reports a record
as sent unless Kinesis accepted it; ``publish`` puts a JSONL file or a paced simulation on the
stream through it.
"""
