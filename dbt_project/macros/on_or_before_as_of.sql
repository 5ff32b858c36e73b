{#
    True for a day on or before as_of(): a run reports on the world as of its day, so an
    order (or credit note) dated later is left out of every mart until its day comes, and a
    backfilled day sees what that day saw. Always true when as_of is not set (a bare
    `dbt build`). assert_no_order_is_dated_after_the_as_of_day counts what it leaves out.
#}
{% macro on_or_before_as_of(day) -%}
    {%- set as_of = as_of() -%}
    {%- if as_of -%}
        {{ day }} <= cast('{{ as_of }}' as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
