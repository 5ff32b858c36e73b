{#
    Schemas are named exactly as configured (staging, intermediate, marts, reference) instead
    of dbt's default `<target schema>_<custom schema>`: BI tools, the dashboard and the alerts
    read `marts.*` by these names, and there is one warehouse file per environment, so a
    target prefix would only add noise.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
