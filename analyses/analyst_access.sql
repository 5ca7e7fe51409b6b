{#- Compiled, never run: the statements that give analysts the marts on this target, written
    out so tests/warehouse/test_redshift_compile.py can parse them (no Redshift is reachable
    from the tests). The same macros run in the on-run-start hook. -#}
{%- set statements = analyst_access_sql(reading_roles() | map(attribute=0) | list) -%}
{%- for node in graph.nodes.values()
    if node.resource_type == 'model' and node.config.get('grants', {}).get('select') -%}
    {%- set relation = api.Relation.create(
        database=target.database, schema=node.schema, identifier=node.alias
    ) -%}
    {%- do statements.append(get_grant_sql(relation, 'select', node.config.grants['select']) | trim) -%}
{%- endfor -%}
{{ statements | join(';\n') }};
