{#
    The rate that converts each currency into the reporting currency on each calendar day: the
    latest rate published on or before the day, at most var('exchange_rate_max_age_days') old,
    so weekends and holidays take the last business day's rate while a source that stopped
    publishing is not carried forward for ever.
#}
{%- set max_age_days = var('exchange_rate_max_age_days', 7) %}

with

exchange_rates as (

    select * from {{ ref('stg_erp__exchange_rates') }}

),

quotes as (

    -- each currency against the base, and the base itself at 1 on every publication day, so
    -- a cross rate needs no special case when the reporting currency is the base
    select
        currency,
        rate_date,
        rate,
        _loaded_at
    from exchange_rates

    union all

    select
        base_currency as currency,
        rate_date,
        cast(1 as {{ type_double() }}) as rate,
        min(_loaded_at) as _loaded_at
    from exchange_rates
    group by base_currency, rate_date

),

days as (

    {{ day_series(
        '(select min(rate_date) from exchange_rates)',
        add_days('(select max(rate_date) from exchange_rates)', max_age_days)
    ) }}

),

latest_quotes as (

    -- per currency and day, the latest quote of the last max_age_days + 1 days
    select
        quotes.currency,
        days.date_day,
        quotes.rate_date,
        quotes.rate,
        quotes._loaded_at
    from days
    inner join quotes
        on
            quotes.rate_date <= days.date_day
            and quotes.rate_date >= {{ add_days('days.date_day', -max_age_days) }}
    qualify row_number() over (
        partition by quotes.currency, days.date_day
        order by quotes.rate_date desc
    ) = 1

),

final as (

    select
        -- ids
        quoted.currency,
        quoted.date_day,

        -- measures: units of the reporting currency for one unit of the currency, through the
        -- base (a cross rate) when the reporting currency is not the base
        reporting.rate / quoted.rate as to_reporting_rate,

        -- dates: the publication days of the two rates used
        quoted.rate_date,
        reporting.rate_date as reporting_rate_date,

        -- timestamps: a corrected or late rate changes the amounts of the days it covers
        greatest(quoted._loaded_at, reporting._loaded_at) as _loaded_at

    from latest_quotes as quoted
    inner join latest_quotes as reporting
        on
            quoted.date_day = reporting.date_day
            and reporting.currency = {{ reporting_currency() }}
    where quoted.currency != {{ reporting_currency() }}

)

select * from final
