{#- Quarantined records by reason and field: what to fix at which producer, and since when. -#}
with

quarantined as (

    select * from {{ ref('quarantined_events') }}

),

final as (

    select
        reason as quarantine_reason,
        reason_code,
        reason_field,
        cast(count(*) as bigint) as record_count,
        min(landed_at) as first_landed_at,
        max(landed_at) as last_landed_at
    from quarantined
    group by reason, reason_code, reason_field

)

select * from final
