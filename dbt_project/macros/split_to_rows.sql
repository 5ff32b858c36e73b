{#
    One row per part of `text` (a string expression) split at `delimiter` (a string literal):
    a set-returning expression of the select list. DuckDB unnests a list, Spark explodes an
    array (its split takes a pattern: the delimiters used here are plain characters).
#}
{% macro split_to_rows(text, delimiter) -%}
    {{ return(adapter.dispatch('split_to_rows')(text, delimiter)) }}
{%- endmacro %}

{% macro default__split_to_rows(text, delimiter) -%}
    unnest(string_split({{ text }}, {{ delimiter }}))
{%- endmacro %}

{% macro spark__split_to_rows(text, delimiter) -%}
    explode(split({{ text }}, {{ delimiter }}))
{%- endmacro %}
