{#
    True for a day that the recount tests check. Every day, unless the daily job asks for
    the days its build can have changed (environment variable DBT_RECOUNT=changed): then
    the days from the first one that fct_customer_value_daily wrote with the build's watermark
    (its rows' latest `_loaded_at`). An incremental build rewrites every day from the
    earliest order day its new rows touch, and a day before it was recounted when it was
    written; a full build writes every row with one watermark, so it is recounted whole. The
    job asks for every day when a recount did not pass last time, and on demand.

    A test calling this refs fct_customer_value_daily itself, so that dbt knows the
    dependency whichever branch it parsed. Like as_of(), read only when the SQL is compiled to
    run, so that dbt does not parse the tests again when the setting changes.
#}
{% macro recounted_day(day) -%}
    {%- if execute and env_var('DBT_RECOUNT', 'every') == 'changed' -%}
        {%- set built = ref('fct_customer_value_daily') -%}
        {{ day }} >= (
            select min(value_date) from {{ built }}
            where _loaded_at = (select max(_loaded_at) from {{ built }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    The days a recount test samples: the last 7 up to `last_day` (where daily builds write)
    and the first of each quarter (older history that late rows rewrite).
#}
{% macro sampled_day(day, last_day) -%}
    (
        {{ day }} > {{ add_days(last_day, -7) }}
        or {{ day }} = cast({{ dbt.date_trunc('quarter', day) }} as date)
    )
{%- endmacro %}

{#
    For a mart rebuilt whole by every build, whose days carry no watermark: every day, or with
    DBT_RECOUNT=changed the sampled days (sampled_day). Every day is computed by the same SQL,
    so a drift from the definitions shows on the sample; the whole history is recounted on a
    first build, after a recount failed and on demand.
#}
{% macro recounted_sample(day, last_day) -%}
    {%- if execute and env_var('DBT_RECOUNT', 'every') == 'changed' -%}
        {{ sampled_day(day, last_day) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
