{#- Gift and refund entries of each donation sum exactly to its net in the facts, and every
    fact has its ledger: finance and fundraising can never disagree on a cent. -#}
{% test ledger_sums_to_facts(model, facts) %}
with ledger as (
    select donation_id, sum(amount_cents) as ledger_net_cents
    from {{ model }}
    where entry_type in ('gift', 'refund')
    group by donation_id
)
select facts.donation_id
from {{ facts }} as facts
left join ledger
    on facts.donation_id = ledger.donation_id
where ledger.ledger_net_cents is null
    or ledger.ledger_net_cents != facts.net_amount_cents
{% endtest %}
