{#-
    Contract-valid events, one row per event_id: a redelivery of an event that is already here
    (by the stream, a replay, or both) is dropped, and the first landing of it is kept, so the
    stream position that traces each event never changes.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
    )
}}

with

records as (

    select * from {{ ref('stg_stream__records') }}
    where is_valid
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

first_delivery as (

    select *
    from records
    qualify row_number() over (
        partition by event_id
        order by landed_at, shard_id, sequence_number
    ) = 1

),

final as (

    select
        first_delivery.event_id,
        first_delivery.event_type,
        first_delivery.schema_version,
        first_delivery.source,
        first_delivery.shard_id,
        first_delivery.sequence_number,
        first_delivery.record,
        first_delivery.occurred_at,
        first_delivery.emitted_at,
        first_delivery.arrived_at,
        first_delivery.landed_at
    from first_delivery
    {% if is_incremental() %}
    left join {{ this }} as already_staged
        on first_delivery.event_id = already_staged.event_id
    where already_staged.event_id is null
    {% endif %}

)

select * from final
