-- Streaming ingestion from Kinesis into Redshift Serverless.
--
-- `dbt run-operation refresh_stream_landing` creates these objects when absent, in every
-- environment, and refreshes the view (macros/landing/stream_landing.sql: the external schema as
-- `kinesis_<target>`, the view as `lander.kinesis_records`). No dbt model owns the view, so no
-- `dbt --full-refresh` drops it; models read it as source `lander.kinesis_records`, and
-- landing.landed_records copies every record into a table a full refresh never rebuilds (the
-- view, once recreated, holds only the 7 days Kinesis keeps). This file is the same DDL written
-- out for people: disaster recovery into a fresh namespace, a reviewer checking the view's shape.
-- Placeholders: {external_schema}, {stream_name}, {iam_role_arn} (the WarehouseStack output
-- StreamingIngestionRoleArn, also in SSM at /accfb/<env>/redshift/streaming-role-arn).

create external schema if not exists {external_schema}
from kinesis
iam_role '{iam_role_arn}';

-- One view per stream, holding only the raw record and its stream metadata: a materialized
-- view's columns cannot be altered, so keeping payload fields out of it means an upstream schema
-- change never touches it (a change of the view itself is a new view: landed_records keeps the history, and its
-- probe by stream position drops the 7 days the new view re-reads).
-- JSON_PARSE once into SUPER rather than JSON_EXTRACT_PATH_TEXT per column (each re-parses the
-- record and fails past 64 KB). CAN_JSON_PARSE guards it: a record that is not JSON keeps a null
-- `record` and its bytes in kinesis_data, and is quarantined downstream, never dropped and never
-- failing the refresh.
-- Size: the contract's limit is 65,535 bytes (ingestion/contract/limits.py), the widest VARCHAR.
-- A record within it is kept whole; one over it (Kinesis carries up to 1 MiB) is neither
-- converted nor parsed, so nothing is cut: an empty text and its real size in
-- kinesis_data_bytes, from which staging quarantines it as `too_large`. Its bytes stay in the
-- raw archive.
create materialized view lander.kinesis_records
backup no
auto refresh yes
as
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    case when octet_length(kinesis_data) <= 65535
        then from_varbyte(kinesis_data, 'utf-8') else '' end as kinesis_data,
    octet_length(kinesis_data) as kinesis_data_bytes,
    case when octet_length(kinesis_data) <= 65535 and can_json_parse(kinesis_data)
        then json_parse(kinesis_data) end as record
from {external_schema}."{stream_name}";
