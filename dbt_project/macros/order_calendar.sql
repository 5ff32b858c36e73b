{#
    The days every daily and periodic mart covers: from the first order to the last order
    date, or to as_of() when it is set. Written once so the marts line up day for day.
    `orders` is a CTE with an `order_date` column.
#}
{% macro order_calendar(orders='orders') -%}
    {{ day_calendar(orders, 'order_date') }}
{%- endmacro %}


{#
    The days of a daily series of `relation`: from its first `day` (an expression of type date)
    to its last one, or to as_of() when it is set.
#}
{% macro day_calendar(relation, day) -%}
    {%- set as_of = as_of() -%}
    select
        min({{ day }}) as first_day,
        {{ "cast('" ~ as_of ~ "' as date)" if as_of else 'max(' ~ day ~ ')' }} as last_day
    from {{ relation }}
    where {{ on_or_before_as_of(day) }}
{%- endmacro %}


{#
    The members a mart is cut by: the total ('all'), each segment and each region that has an
    order up to the calendar's last day. `orders` has order_date, segment and region.
#}
{% macro order_dimension_members(orders='orders', calendar='calendar') -%}
    {%- for dimension, member in [('total', "'all'"), ('segment', orders ~ '.segment'),
                                   ('region', orders ~ '.region')] %}
    select distinct
        '{{ dimension }}' as dimension,
        {{ member }} as dimension_value
    {{ orders_up_to_last_day(orders, calendar) }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}


{#
    The from and where clauses of the rows of `orders` dated up to the last day of `calendar`.
    DuckDB joins the one-row calendar (as a scalar subquery, inside the incremental marts'
    pre-hook, it took 46 s instead of 0.06 s at scale 40); Spark 4 reads the last day as a
    scalar subquery, since it cannot send its executors that join when the orders are rows
    written as literals (a unit test's fixture).
#}
{% macro orders_up_to_last_day(orders, calendar) -%}
    {{ return(adapter.dispatch('orders_up_to_last_day', 'customer_value_radar')(orders, calendar)) }}
{%- endmacro %}

{% macro default__orders_up_to_last_day(orders, calendar) -%}
    from {{ orders }}
    cross join {{ calendar }}
    where {{ orders }}.order_date <= {{ calendar }}.last_day
{%- endmacro %}

{% macro spark__orders_up_to_last_day(orders, calendar) -%}
    from {{ orders }}
    where {{ orders }}.order_date <= (select last_day from {{ calendar }})
{%- endmacro %}


{#
    order_dimension_members of `relation` (a model with order_date, segment and region) as
    one query, for a pre-hook that has no CTEs of the model to refer to.
#}
{% macro order_dimension_members_of(relation) -%}
    with

    orders as (select * from {{ relation }}),

    calendar as ({{ order_calendar() }})

    {{ order_dimension_members() }}
{%- endmacro %}
