{#
    What the warehouse was built for, in one row: the day its daily marts run to, the
    currency of every money column and the time zone of every calendar day, from the vars of
    the build. The radar, the alerts and the dashboard label their numbers from this row, and
    BI tools read it in the serving copy, so nobody has to guess which currency a revenue is
    in. One row by construction: an aggregate of the orders, whether there are any or not.
    It reads the orders so that its day is the marts' own (the as-of day when one is given,
    else the last order day), and so that a build that skips the order marts (a missing
    exchange rate) skips it too: the row describes the marts as they stand.
#}

with

orders as (

    select order_date from {{ ref('int_orders_enriched') }}

),

calendar as (

    -- the same last day as every daily mart
    {{ order_calendar() }}

),

final as (

    select
        -- the day reported on
        calendar.last_day as as_of,

        -- units
        {{ reporting_currency() }} as reporting_currency,
        '{{ var("reporting_timezone") }}' as reporting_timezone,

        -- parameters of the customer definitions
        cast({{ var('active_window_days') }} as integer) as active_window_days,
        cast({{ var('lapse_days') }} as integer) as lapse_days

    from calendar

)

select * from final
