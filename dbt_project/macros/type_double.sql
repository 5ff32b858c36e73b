{#
    An 8-byte floating-point type. dbt.type_float() is a 4-byte FLOAT on DuckDB: too coarse
    for money ratios and for epoch seconds.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer_value_radar')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
