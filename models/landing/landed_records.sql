{#-
    Every landed record, whichever path brought it: the stream, or a replay of the archive. The
    warehouse's history of records: append-only, one row per stream position (shard_id,
    sequence_number), the earliest landed copy kept, so a row never changes once published.

    `full_refresh=false`: no `dbt --full-refresh` rebuilds it. On Redshift the stream landing is a
    streaming view that holds at most the 7 days Kinesis keeps once recreated; this table holds
    the years. Every model downstream rebuilds from here on a full refresh, so none loses history.

    Each pass appends one batch, numbered `landed_batch` = the highest here + 1. That number is
    the cursor of every model downstream (macros/batch_cursor.sql). A pass holds this table from
    its first read to its commit (Redshift: LOCK in the pre-hook; DuckDB: one writer per file, and
    the builds run one at a time), so batch numbers commit in increasing order and no batch
    appears below one a model already read.

    Which records are new, per path:
    - stream: `refresh_time` past the newest streamed copy here. Every record of one refresh of the
      streaming view (of one lander page, locally) carries that refresh's start and commits with
      it, and refreshes of one view run one after another, so no record commits later with an
      earlier `refresh_time` than one already read. Locally it is the lander's own sequence,
      not its clock: each page's stamp is past the newest committed (ingestion/landing/lander.py),
      so a clock stepped back cannot put a page below the cursor.
    - replay: `load_seq` past the highest here; loads number themselves in commit order
      (macros/landing/backfill_landing.sql), so a replay that commits after later stream batches
      were built is still read, whatever its rows' `refresh_time`.
    Both cursors are literals fetched when the model runs, so the landing's sort key and zone maps
    prune the read. A position already here is dropped by probing only the rows here whose
    arrival time lies within the new records' (arrival is part of the record: both copies
    carry the same), not the whole table.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
        dist='even',
        sort=['landed_batch'],
        pre_hook=[lander_schema(), backfill_landing_table(), upgrade_backfill_landing_columns(), hold_landed_records()],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursors = landed_records_cursors() -%}
{%- endif %}

with

streamed as (

    select
        *,
        cast(null as bigint) as load_seq
    from {{ ref('stream_events') }}
    {% if incremental %}
    where refresh_time > {{ cursors.stream_after }}
    {% endif %}

),

backfilled as (

    select * from (
        {{ backfill_landing_select() }}
    ) as backfill
    {% if incremental %}
    where load_seq > {{ cursors.backfill_after }}
    {% endif %}

),

candidates as (

    select
        streamed.*,
        'stream' as landed_by
    from streamed

    union all

    select
        backfilled.*,
        'replay' as landed_by
    from backfilled

),

earliest_copy as (

    select *
    from candidates as candidates
    qualify row_number() over (
        partition by shard_id, sequence_number
        order by refresh_time, landed_by desc
    ) = 1

),

{% if incremental %}
already_landed as (

    select
        shard_id,
        sequence_number
    from {{ this }}
    where approximate_arrival_timestamp >= {{ cursors.arrival_from }}
        and approximate_arrival_timestamp <= {{ cursors.arrival_to }}

),

new_copies as (

    select earliest_copy.*
    from earliest_copy
    left join already_landed
        on earliest_copy.shard_id = already_landed.shard_id
        and earliest_copy.sequence_number = already_landed.sequence_number
    where already_landed.shard_id is null

),
{% else %}
new_copies as (

    select * from earliest_copy

),
{% endif %}

final as (

    select
        new_copies.*,
        cast({{ cursors.next_batch if incremental else 1 }} as bigint) as landed_batch
    from new_copies

)

select * from final
