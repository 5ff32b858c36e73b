{#
    One row per calendar day from start_date to end_date (both SQL expressions of type date,
    both included), as a column named by `column_name`.

    dbt.date_spine is not used here: it sizes the spine with a query run while compiling,
    which reads the real warehouse even inside unit tests and requires literal bounds; the
    marts need bounds that come from the data of the same query.
#}
{% macro day_series(start_date, end_date, column_name='date_day') -%}
    {{ return(adapter.dispatch('day_series', 'customer_value_radar')(start_date, end_date, column_name)) }}
{%- endmacro %}

{% macro default__day_series(start_date, end_date, column_name) -%}
    select cast(generated_day as date) as {{ column_name }}
    from generate_series(
        cast({{ start_date }} as {{ dbt.type_timestamp() }}),
        cast({{ end_date }} as {{ dbt.type_timestamp() }}),
        interval '1 day'
    ) as days (generated_day)
{%- endmacro %}

{% macro duckdb__day_series(start_date, end_date, column_name) -%}
    select cast(unnest(generate_series(
        cast({{ start_date }} as date),
        cast({{ end_date }} as date),
        interval 1 day
    )) as date) as {{ column_name }}
{%- endmacro %}

{% macro spark__day_series(start_date, end_date, column_name) -%}
    select explode(sequence(
        cast({{ start_date }} as date),
        cast({{ end_date }} as date),
        interval 1 day
    )) as {{ column_name }}
{%- endmacro %}
