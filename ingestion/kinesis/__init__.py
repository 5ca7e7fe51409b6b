"""The stream's own mechanics, written once: putting records on it and reading its shards.

``batcher`` groups records into PutRecords calls within Kinesis's limits and re-sends the
failed records of a partial failure; the producer and the edge poller both use it, so it needs
only the standard library and boto3. ``shards`` reads a shard from a position, renewing
iterators that expire; the streaming lander and the archiver both use it.
"""
