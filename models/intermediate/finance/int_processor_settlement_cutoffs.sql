{#-
    Per processor, how far its exports have settled and the cutoff before which every gift or
    refund should be in one: its newest settlement minus its settlement delay (seed
    processor_settlement_terms, else the `settlement_delay_hours` var). A transaction after the
    cutoff is `pending` in rpt_settlement_reconciliation, not missing. The cutoff is what the
    processor's standing legs say, as a full build computes it: a correction that withdraws or
    moves its newest settlement moves the cutoff back.
    Cursor: `latest_load_seq` of stg_processor__settlements; a pass deletes the processors a new
    export touched (pre-hook) and recomputes each from all its standing legs.
-#}
{{
    config(
        unique_key='processor',
        pre_hook="{{ delete_touched_processors() }}",
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor('latest_load_seq') -%}
{%- endif %}

with

settlements as (

    select * from {{ ref('stg_processor__settlements') }}
    {% if incremental %}
    where processor in ({{ settlement_touched_processors(cursor) }})
    {% endif %}

),

terms as (

    select * from {{ ref('processor_settlement_terms') }}

),

progress as (

    -- A withdrawn leg settles nothing, but its withdrawal is a load the cursor moves past.
    select
        processor,
        max(case when is_withdrawn is not true then settled_at end) as settled_through_at,
        max(latest_load_seq) as latest_load_seq
    from settlements
    group by processor
    having max(case when is_withdrawn is not true then 1 else 0 end) = 1

),

final as (

    select
        progress.processor,
        max(progress.settled_through_at) as settled_through_at,
        cast(
            coalesce(max(terms.settlement_delay_hours), {{ var('settlement_delay_hours') }})
            as integer
        ) as settlement_delay_hours,
        {{ dbt.dateadd(
            'hour',
            '-coalesce(max(terms.settlement_delay_hours), ' ~ var('settlement_delay_hours') ~ ')',
            'max(progress.settled_through_at)',
        ) }} as settlement_cutoff_at,
        cast(max(progress.latest_load_seq) as bigint) as latest_load_seq
    from progress
    left join terms
        on progress.processor = terms.processor
    group by progress.processor

)

select * from final
