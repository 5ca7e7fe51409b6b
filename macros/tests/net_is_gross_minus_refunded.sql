{#- The mart's arithmetic holds on every row, and no refund exceeds its gift. -#}
{% test net_is_gross_minus_refunded(model) %}
select donation_id
from {{ model }}
where net_amount_cents != gross_amount_cents - refunded_amount_cents
    or refunded_amount_cents > gross_amount_cents
    or refunded_amount_cents < 0
{% endtest %}
