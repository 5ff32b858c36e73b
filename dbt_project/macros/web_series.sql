{#
    The days and members of the web channels' daily series (fct_web_channels_daily): from the
    first event to the last one, or to var('as_of') when it is set; the total and each channel
    that has an event with a visitor up to the last day. Written once for the model and its
    pre-hook. `events` has occurred_at, visitor_id and channel.
#}
{% macro web_calendar(events='events') -%}
    {%- set as_of = var('as_of', none) -%}
    select
        min(cast(occurred_at as date)) as first_day,
        {{ "cast('" ~ as_of ~ "' as date)" if as_of else 'max(cast(occurred_at as date))' }}
            as last_day
    from {{ events }}
    {%- if as_of %}
    where cast(occurred_at as date) <= cast('{{ as_of }}' as date)
    {%- endif %}
{%- endmacro %}


{% macro web_channel_members(events='events') -%}
    {%- set as_of = var('as_of', none) -%}
    {%- for dimension, member in [('total', "'all'"), ('channel', "coalesce(channel, 'unknown')")] %}
    select distinct
        '{{ dimension }}' as dimension,
        {{ member }} as dimension_value
    from {{ events }}
    where
        visitor_id is not null
        {%- if as_of %}
        and cast(occurred_at as date) <= cast('{{ as_of }}' as date)
        {%- endif %}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}
