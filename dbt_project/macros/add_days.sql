{#
    A date `days` days after `date_expression` (before it when negative), still a date:
    dbt.dateadd returns a timestamp on several databases, which would shift joins on days.
#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}
