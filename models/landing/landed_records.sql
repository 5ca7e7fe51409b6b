{#-
    Every landed record, whichever path brought it: the stream, or a replay of the archive.
    A record is its stream position (shard_id, sequence_number): when both paths hold it, the
    streamed copy wins and the replayed one is left out, so overlap never doubles a record.
    Staging reads this model, so it sees one row per stream position. The backfill table is
    created here, before the first read, so a warehouse that never replayed builds too (and a
    stream-only build, which selects `stream_events+`, reaches it).
-#}
{{
    config(
        pre_hook=[lander_schema(), backfill_landing_table()],
    )
}}

with

streamed as (

    select * from {{ ref('stream_events') }}

),

backfilled as (

    {{ backfill_landing_select() }}

),

backfilled_only as (

    select backfilled.*
    from backfilled
    left join streamed
        on backfilled.shard_id = streamed.shard_id
        and backfilled.sequence_number = streamed.sequence_number
    where streamed.shard_id is null

),

final as (

    select
        streamed.*,
        'stream' as landed_by
    from streamed

    union all

    select
        backfilled_only.*,
        'replay' as landed_by
    from backfilled_only

)

select * from final
