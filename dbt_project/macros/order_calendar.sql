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
    The last day is read as a scalar subquery: Spark 4 cannot send its executors a cross join
    of the one-row calendar with rows written as literals (a unit test's fixture).
#}
{% macro order_dimension_members(orders='orders', calendar='calendar') -%}
    {%- for dimension, member in [('total', "'all'"), ('segment', orders ~ '.segment'),
                                   ('region', orders ~ '.region')] %}
    select distinct
        '{{ dimension }}' as dimension,
        {{ member }} as dimension_value
    from {{ orders }}
    where {{ orders }}.order_date <= (select last_day from {{ calendar }})
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
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
