{#
    The day of the week of the date `day`: 0 for a Monday to 6 for a Sunday, on every engine
    (the days since a Monday, modulo 7, kept positive for a date before it).
#}
{% macro weekday(day) -%}
    ((({{ dbt.datediff("cast('2000-01-03' as date)", day, 'day') }}) % 7 + 7) % 7)
{%- endmacro %}
