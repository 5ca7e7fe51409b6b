-- Streaming ingestion from Kinesis into Redshift Serverless.
--
-- dbt owns these objects in every environment (macros/landing/stream_landing.sql creates the
-- external schema as `kinesis_<target>` and the view as the model `stream_events`); this file is
-- the same DDL written out for people: disaster recovery into a fresh namespace, a reviewer
-- checking the view's shape, and the test that keeps the view's columns stable.
-- Placeholders: {external_schema}, {stream_name}, {iam_role_arn} (the WarehouseStack output
-- StreamingIngestionRoleArn, also in SSM at /accfb/<env>/redshift/streaming-role-arn).

create external schema if not exists {external_schema}
from kinesis
iam_role '{iam_role_arn}';

-- One view per stream, holding only the raw record and its stream metadata: a materialized
-- view's columns cannot be altered, so keeping payload fields out of it means an upstream schema
-- change never touches it (a change of the view itself is a new view plus ALTER TABLE ... APPEND).
-- JSON_PARSE once into SUPER rather than JSON_EXTRACT_PATH_TEXT per column (each re-parses the
-- record and fails past 64 KB). CAN_JSON_PARSE guards it: a record that is not JSON keeps a null
-- `record` and its bytes in kinesis_data, and is quarantined downstream, never dropped and never
-- failing the refresh.
create materialized view stream_events
auto refresh yes
as
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    from_varbyte(kinesis_data, 'utf-8') as kinesis_data,
    case when can_json_parse(kinesis_data) then json_parse(kinesis_data) end as record
from {external_schema}."{stream_name}";
