{#-
    How a settlement correction reaches the finance models. A corrected export can lower, move
    or withdraw a leg (models/staging/processor/stg_processor__settlements.sql); the models
    downstream recompute what it touched, and also what it left:
    - int_processor_settlement_cutoffs recomputes the processors a load touched, from all their
      legs, so a cutoff moves back when its newest settlement is withdrawn or moved earlier;
    - rpt_settlement_reconciliation records, before it rewrites a transaction a load touched,
      the days that transaction's row fell on (lander.reconciliation_departures), so
      rpt_daily_close recomputes the day a leg left as well as the day it moved to.
    Both are written in the model's own transaction (pre-hooks): a pass that fails records
    nothing.
-#}

{#- The processors with a settlement load past `cursor`, fetched at run time: a list of literals
    the warehouse compares against, or `null` (matching nothing) when none loaded. -#}
{% macro settlement_touched_processors(cursor) -%}
    {%- set sql = "select distinct processor from " ~ ref('stg_processor__settlements') ~ " where latest_load_seq > " ~ cursor -%}
    {%- if not execute or offline_compile() -%}
        {{ return(sql) }}
    {%- endif -%}
    {%- set processors = run_query(sql).columns[0].values() -%}
    {%- set literals = [] -%}
    {%- for processor in processors -%}
        {%- do literals.append(sql_literal(processor)) -%}
    {%- endfor -%}
    {{ return(literals | join(', ') if literals else 'null') }}
{%- endmacro %}

{#- int_processor_settlement_cutoffs' pre-hook: its touched processors are rewritten whole. -#}
{% macro delete_touched_processors() -%}
    {%- if is_incremental() -%}
delete from {{ this }}
where processor in ({{ settlement_touched_processors(batch_cursor('latest_load_seq')) }})
    {%- endif -%}
{%- endmacro %}

{% macro reconciliation_departures_table() -%}
create table if not exists lander.reconciliation_departures (
    reconciled_pass bigint not null,
    close_date date not null
)
{%- endmacro %}

{#- The transactions a settlement load past the reconciliation's cursor touched, as
    `processor|processor_txn_id` keys. -#}
{% macro settlement_touched_transaction_keys() -%}
select processor || '|' || processor_txn_id
from {{ ref('stg_processor__settlements') }}
where latest_load_seq > {{ batch_cursor('settlement_load_seq') }}
{%- endmacro %}

{#- Whether a settlement load is past the reconciliation's cursor: most passes have none, and
    then its pre-hooks do nothing (they would read the key columns of the whole table). -#}
{% macro settlement_loaded_since_reconciled() -%}
    {%- if not execute or offline_compile() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set count = run_query(
        "select count(*) from " ~ ref('stg_processor__settlements')
        ~ " where latest_load_seq > " ~ batch_cursor('settlement_load_seq')
    ).columns[0].values()[0] -%}
    {{ return(count > 0) }}
{%- endmacro %}

{#- rpt_settlement_reconciliation's pre-hooks: the days its rows of the touched transactions
    fall on, recorded under the pass about to run; then those rows go, so a transaction left
    with no leg on either side (a withdrawn leg of no gift of ours) leaves, as it does from a
    full build. The pass recomputes every one of them from its inputs. -#}
{% macro record_reconciliation_departures() -%}
    {%- if is_incremental() and settlement_loaded_since_reconciled() -%}
insert into lander.reconciliation_departures (reconciled_pass, close_date)
select distinct {{ batch_cursor('reconciled_pass') + 1 }}, departed_date
from (
    select cast(settled_at as date) as departed_date, processor, processor_txn_id from {{ this }}
    union all
    select cast(coalesce(donated_at, settled_at) as date), processor, processor_txn_id from {{ this }}
) as departed
where departed_date is not null
    and processor || '|' || processor_txn_id in ({{ settlement_touched_transaction_keys() }})
    {%- endif -%}
{%- endmacro %}

{% macro delete_settlement_touched_transactions() -%}
    {%- if is_incremental() and settlement_loaded_since_reconciled() -%}
delete from {{ this }}
where processor || '|' || processor_txn_id in ({{ settlement_touched_transaction_keys() }})
    {%- endif -%}
{%- endmacro %}

{#- The days rpt_settlement_reconciliation's passes past `cursor` rewrote rows away from,
    fetched at run time: a list of date literals, or none. -#}
{% macro reconciliation_departed_dates(cursor) -%}
    {%- if not execute or offline_compile() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set dates = run_query(
        "select distinct close_date from lander.reconciliation_departures where reconciled_pass > " ~ cursor
    ).columns[0].values() -%}
    {%- set literals = [] -%}
    {%- for day in dates -%}
        {%- do literals.append("cast('" ~ day ~ "' as date)") -%}
    {%- endfor -%}
    {{ return(literals) }}
{%- endmacro %}
