{#
    Incremental: a build recomputes only the days from the earliest day of the events loaded
    since the previous build (events arrive late, in later files), reading the `window_days`
    days before it for the trailing window; distinct visitors over a window cannot be added
    up from daily counts, so each recomputed day counts them again. A day not built yet is
    new; a channel not built yet needs its whole series. Rows keep the watermark
    (`_loaded_at`) they were computed with. The pre-hook deletes rows that no longer belong to
    the series, so an incremental build gives the same rows as a full refresh. A table built
    before the model was incremental gets `_loaded_at` added and is rebuilt whole.

    The window length is a dbt var; `or` gives the default so that a var left undefined in
    dbt_project.yml still has it.
#}
{{
    config(
        materialized=incremental_by_day(),
        incremental_strategy='delete+insert',
        unique_key=['activity_date', 'dimension', 'dimension_value'],
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_rows_out_of_series(
            'activity_date',
            web_calendar(ref('stg_web__events')),
            web_channel_members(ref('stg_web__events'))
        ) }}"
    )
}}

{%- set window_days = (var('prospects_window_days', none) or 30) | int %}

with

events as (

    select * from {{ ref('stg_web__events') }}

),

calendar as (

    -- the series runs from the first event to the last one, or to `as_of`
    {{ web_calendar() }}

),

counted_events as (

    -- an event without a visitor cannot be counted as a visit nor attributed to one
    select
        events.visitor_id,
        events.session_id,
        events.event_type,
        coalesce(events.channel, 'unknown') as channel,
        cast(events.occurred_at as date) as event_date
    from events
    cross join calendar
    where
        events.visitor_id is not null
        and cast(events.occurred_at as date) between calendar.first_day and calendar.last_day

),

watermark as (

    -- the latest raw load behind any event: stored on every row this build writes
    select max(_loaded_at) as loaded_through
    from events

),

dimension_members as (

    {{ web_channel_members() }}

),

{{ incremental_scope('activity_date', 'events', 'cast(events.occurred_at as date)') }}

bounds as (

    -- a recomputed day needs the events of the full window that ends on it
    select
        recompute_from,
        last_day,
        {{ add_days('recompute_from', -(window_days - 1)) }} as read_from
    from scope

),

read_events as (

    select counted_events.*
    from counted_events
    cross join bounds
    where counted_events.event_date >= bounds.read_from

),

visitor_channel_days as (

    -- one row per visitor, day and channel, read once from the events: the total's and each
    -- channel's visitors, page views and sign-ups are sums of these rows
    select
        channel,
        event_date,
        visitor_id,
        max(case when event_type = 'sign_up' then 1 else 0 end) as signed_up,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_type = 'sign_up' then 1 else 0 end) as sign_ups
    from read_events
    group by channel, event_date, visitor_id

),

visitor_days as (

    -- one row per visitor per day per member: whether they signed up that day
    select
        'total' as dimension,
        'all' as dimension_value,
        event_date,
        visitor_id,
        max(signed_up) as signed_up,
        sum(page_views) as page_views,
        sum(sign_ups) as sign_ups
    from visitor_channel_days
    group by event_date, visitor_id

    union all

    select
        'channel' as dimension,
        channel as dimension_value,
        event_date,
        visitor_id,
        signed_up,
        page_views,
        sign_ups
    from visitor_channel_days

),

session_channel_days as (

    -- a session counts once a day in each member, whichever visitors it is logged under
    select distinct
        channel,
        event_date,
        session_id
    from read_events
    where session_id is not null

),

daily_sessions as (

    select
        'total' as dimension,
        'all' as dimension_value,
        event_date,
        count(distinct session_id) as sessions
    from session_channel_days
    group by event_date

    union all

    select
        'channel' as dimension,
        channel as dimension_value,
        event_date,
        count(*) as sessions
    from session_channel_days
    group by channel, event_date

),

daily_events as (

    select
        dimension,
        dimension_value,
        event_date,
        count(*) as visitors,
        sum(page_views) as page_views,
        sum(sign_ups) as sign_ups,
        sum(signed_up) as signed_up_visitors
    from visitor_days
    group by dimension, dimension_value, event_date

),

days as (

    {{ day_series(
        '(select recompute_from from bounds)', '(select last_day from bounds)', 'activity_date'
    ) }}

),

member_days as (

    select
        days.activity_date,
        dimension_members.dimension,
        dimension_members.dimension_value
    from days
    cross join dimension_members

),

visitor_spans as (

    -- a visitor counts in the window of each day from a visit to `window_days` - 1 days
    -- after it, or to the day before their next visit, whose span takes over: spans that
    -- never overlap, so the windows' distinct visitors are running sums of where spans start
    -- and end (rather than each day joined to the visits of its window, which grows with the
    -- window's length; active customers are counted the same way, in
    -- int_customer_order_days_sequenced). The same for the days a visitor signed up.
    select
        dimension,
        dimension_value,
        event_date,
        signed_up,
        least(
            {{ add_days('event_date', window_days) }},
            coalesce(
                lead(event_date) over (
                    partition by dimension, dimension_value, visitor_id order by event_date
                ),
                {{ add_days('event_date', window_days) }}
            )
        ) as span_end,
        least(
            {{ add_days('event_date', window_days) }},
            coalesce(
                lead(event_date) over (
                    partition by dimension, dimension_value, visitor_id, signed_up
                    order by event_date
                ),
                {{ add_days('event_date', window_days) }}
            )
        ) as sign_up_span_end
    from visitor_days

),

span_edges as (

    -- a span adds one from its first day and takes it away from the day after its last
    select
        dimension,
        dimension_value,
        event_date as edge_day,
        1 as visitors,
        signed_up as signed_up_visitors
    from visitor_spans
    union all
    select
        dimension,
        dimension_value,
        span_end as edge_day,
        -1 as visitors,
        0 as signed_up_visitors
    from visitor_spans
    union all
    select
        dimension,
        dimension_value,
        sign_up_span_end as edge_day,
        0 as visitors,
        -1 as signed_up_visitors
    from visitor_spans
    where signed_up = 1

),

daily_edges as (

    select
        dimension,
        dimension_value,
        edge_day,
        sum(visitors) as visitors,
        sum(signed_up_visitors) as signed_up_visitors
    from span_edges
    group by dimension, dimension_value, edge_day

),

read_days as (

    -- from the first day read, where the spans of the recomputed days' windows start
    {{ day_series(
        '(select read_from from bounds)', '(select last_day from bounds)', 'activity_date'
    ) }}

),

windowed_visitors as (

    -- distinct visitors of the `window_days` days ending on each day: a visitor who comes
    -- back counts once, so these cannot be sums of daily counts
    select
        read_days.activity_date,
        dimension_members.dimension,
        dimension_members.dimension_value,
        sum(coalesce(daily_edges.visitors, 0)) over (
            partition by dimension_members.dimension, dimension_members.dimension_value
            order by read_days.activity_date
            rows between unbounded preceding and current row
        ) as visitors,
        sum(coalesce(daily_edges.signed_up_visitors, 0)) over (
            partition by dimension_members.dimension, dimension_members.dimension_value
            order by read_days.activity_date
            rows between unbounded preceding and current row
        ) as signed_up_visitors
    from read_days
    cross join dimension_members
    left join daily_edges
        on
            dimension_members.dimension = daily_edges.dimension
            and dimension_members.dimension_value = daily_edges.dimension_value
            and read_days.activity_date = daily_edges.edge_day

),

final as (

    select
        -- keys
        member_days.activity_date,
        member_days.dimension,
        member_days.dimension_value,

        -- the day
        cast(coalesce(daily_events.visitors, 0) as {{ dbt.type_bigint() }}) as visitors,
        cast(coalesce(daily_sessions.sessions, 0) as {{ dbt.type_bigint() }}) as sessions,
        cast(coalesce(daily_events.page_views, 0) as {{ dbt.type_bigint() }}) as page_views,
        cast(coalesce(daily_events.sign_ups, 0) as {{ dbt.type_bigint() }}) as sign_ups,
        cast(coalesce(daily_events.signed_up_visitors, 0) as {{ dbt.type_bigint() }})
            as signed_up_visitors,
        100 * cast(daily_events.signed_up_visitors as {{ type_double() }})
        / nullif(daily_events.visitors, 0) as visitor_to_lead_rate,

        -- the trailing `window_days` days
        cast(coalesce(windowed_visitors.visitors, 0) as {{ dbt.type_bigint() }})
            as visitors_30d,
        cast(coalesce(windowed_visitors.signed_up_visitors, 0) as {{ dbt.type_bigint() }})
            as signed_up_visitors_30d,
        100 * cast(windowed_visitors.signed_up_visitors as {{ type_double() }})
        / nullif(windowed_visitors.visitors, 0) as visitor_to_lead_rate_30d,

        -- lineage
        watermark.loaded_through as _loaded_at

    from member_days
    cross join watermark
    left join daily_events
        on
            member_days.dimension = daily_events.dimension
            and member_days.dimension_value = daily_events.dimension_value
            and member_days.activity_date = daily_events.event_date
    left join daily_sessions
        on
            member_days.dimension = daily_sessions.dimension
            and member_days.dimension_value = daily_sessions.dimension_value
            and member_days.activity_date = daily_sessions.event_date
    left join windowed_visitors
        on
            member_days.dimension = windowed_visitors.dimension
            and member_days.dimension_value = windowed_visitors.dimension_value
            and member_days.activity_date = windowed_visitors.activity_date

)

select * from final
