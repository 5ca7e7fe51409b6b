{#-
    Tests bounded by the new data, for the minute's build (selector `minute_refresh`): each
    checks only the keys of the newest batch a model holds (the one the build just wrote), by
    probing the model for those keys, so its cost follows the batch, not the history. The
    whole-table versions run in the data-quality DAG.
-#}

{#- No key of the newest batch appears twice in the model. `probe_hash`: a hash column
    (macros/key_hash.sql) that every copy of a key shares; the copies are then looked for within
    the batches holding the newest batch's hashes, not in the whole key column.
    `probe_emitted`: the copies are looked for within the newest batch's emitted_at range, as
    the model's own dedup probes (a redelivery carries its event's emitted_at); a copy outside
    it is left to the whole-table test of the data-quality DAG. -#}
{% test unique_in_new_batches(model, column_name, batch_column='landed_batch', probe_hash=none, probe_emitted=false) %}
{%- set batch = batch_cursor(batch_column, model) %}
{%- if probe_hash is not none %}
    {%- set batches = batches_holding(model, probe_hash, "select " ~ probe_hash ~ " from " ~ model ~ " where " ~ batch_column ~ " = " ~ batch) %}
{%- endif %}
{%- if probe_emitted %}
    {%- set emitted = run_time_row("select min(emitted_at), max(emitted_at) from " ~ model ~ " where " ~ batch_column ~ " = " ~ batch) %}
{%- endif %}
with

new_keys as (

    select distinct {{ column_name }} as key
    from {{ model }}
    where {{ batch_column }} = {{ batch }}

)

select {{ column_name }}, count(*) as copies
from {% if probe_emitted %}(select * from {{ model }} {{ emitted_within(emitted) }}) as probed{% else %}{{ model }}{% endif %}
where {{ column_name }} in (select key from new_keys)
{%- if probe_hash is not none %}
    and {{ within_batches(batches, batch_column) }}
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{#- The gift and refund entries of each donation the newest batch rewrote sum exactly to its net
    in the facts, and each of those facts has its ledger. -#}
{% test ledger_sums_to_facts_in_new_batches(model, facts) %}
{%- set batch = batch_cursor('landed_batch', facts) %}
{%- set touched_gifts = "select donation_id_hash from " ~ facts ~ " where landed_batch = " ~ batch %}
{%- set ledger_batches = batches_holding(model, 'donation_id_hash', touched_gifts) %}
with

touched as (

    select donation_id, net_amount_cents
    from {{ facts }}
    where landed_batch = {{ batch }}

),

ledger as (

    select donation_id, sum(amount_cents) as ledger_net_cents
    from {{ model }}
    where {{ within_batches(ledger_batches) }}
        and entry_type in ('gift', 'refund')
        and donation_id in (select donation_id from touched)
    group by donation_id

)

select touched.donation_id
from touched
left join ledger
    on touched.donation_id = ledger.donation_id
where ledger.ledger_net_cents is null
    or ledger.ledger_net_cents != touched.net_amount_cents
{% endtest %}
