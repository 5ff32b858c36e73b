{#
    The days and members of the web channels' daily series (fct_web_channels_daily): from the
    first event to the last one, or to as_of() when it is set; the total and each channel
    that has an event with a visitor up to the last day. Written once for the model and its
    pre-hook. `events` has occurred_at, visitor_id and channel.
#}
{% macro web_calendar(events='events') -%}
    {{ day_calendar(events, 'cast(occurred_at as date)') }}
{%- endmacro %}


{% macro web_channel_members(events='events') -%}
    {%- for dimension, member in [('total', "'all'"), ('channel', "coalesce(channel, 'unknown')")] %}
    select distinct
        '{{ dimension }}' as dimension,
        {{ member }} as dimension_value
    from {{ events }}
    where visitor_id is not null and {{ on_or_before_as_of('cast(occurred_at as date)') }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}
