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
    -- the channels in one pass over the events, then the total and each channel
    select distinct
        dimensions.dimension,
        case when dimensions.dimension = 'total' then 'all' else channels.channel end
            as dimension_value
    from (
        select distinct coalesce(channel, 'unknown') as channel
        from {{ events }}
        where visitor_id is not null and {{ on_or_before_as_of('cast(occurred_at as date)') }}
    ) as channels
    cross join (
        select 'total' as dimension
        union all
        select 'channel' as dimension
    ) as dimensions
{%- endmacro %}
