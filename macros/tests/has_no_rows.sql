{#- Every row of the model is a finding (used at warn severity: counted, never failing). -#}
{% test has_no_rows(model) %}
select * from {{ model }}
{% endtest %}
