{#-
    The CRM's current state of each donor (latest updated_at wins) as the warehouse saw it at
    each refresh: an audit record of what dashboards showed when. dim_donors carries the full
    history from the events themselves; this snapshot can only record versions that were
    current at some refresh, so it is not the source of dim_donors (see docs/analysts.md).
-#}
{% snapshot crm_donors_snapshot %}
{{
    config(
        unique_key='donor_id',
        strategy='timestamp',
        updated_at='valid_from',
    )
}}

select
    donor_id,
    email_hash,
    is_major_donor,
    valid_from
from {{ ref('dim_donors') }}
where is_current

{% endsnapshot %}
