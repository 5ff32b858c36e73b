{{ config(meta={'dagster': {'ref': {'name': 'int_retention_kpis_daily'}}}) }}

-- Where a day's windows coincide with a month's, the daily KPIs (change dates and running
-- sums over days) must equal fct_retention_monthly (per-customer monthly grid), two
-- independent computations of the same definitions:
-- - the repeat purchase rate at every month end;
-- - churn and lapses at the end of a 30-day month: the last 30 days are the month, and the
--   day 30 days before is the day before the month;
-- - NRR and GRR at a month end whose 730 days back are exactly 24 calendar months (no
--   29 February in them): the trailing and prior 365 days are then the calendar years.
-- Only complete months are compared.
with

retention_kpis_daily as (

    select * from {{ ref('int_retention_kpis_daily') }}

),

retention_monthly as (

    select * from {{ ref('fct_retention_monthly') }}

),

month_end_kpis as (

    select
        retention_kpis_daily.kpi_date,
        cast({{ dbt.date_trunc('month', 'retention_kpis_daily.kpi_date') }} as date)
            as month_start,
        retention_kpis_daily.dimension,
        retention_kpis_daily.dimension_value,
        retention_kpis_daily.kpi_name,
        retention_kpis_daily.value
    from retention_kpis_daily
    where
        retention_kpis_daily.kpi_date
        = {{ add_days(
            dbt.dateadd(
                'month', 1,
                'cast(' ~ dbt.date_trunc('month', 'retention_kpis_daily.kpi_date') ~ ' as date)'
            ),
            -1
        ) }}

),

compared as (

    select
        month_end_kpis.kpi_date,
        month_end_kpis.dimension,
        month_end_kpis.dimension_value,
        month_end_kpis.kpi_name,
        month_end_kpis.value as daily_value,
        case month_end_kpis.kpi_name
            when 'repeat_purchase_rate' then retention_monthly.repeat_purchase_rate
            when 'churn_rate' then retention_monthly.churn_rate
            when 'lapsed_customers_30d'
                then cast(retention_monthly.lapsed_customers as {{ type_double() }})
            when 'net_revenue_retention' then retention_monthly.net_revenue_retention_12m
            when 'gross_revenue_retention' then retention_monthly.gross_revenue_retention_12m
        end as monthly_value
    from month_end_kpis
    inner join retention_monthly
        on
            month_end_kpis.month_start = retention_monthly.month_start
            and month_end_kpis.dimension = retention_monthly.dimension
            and month_end_kpis.dimension_value = retention_monthly.dimension_value
    where
        retention_monthly.is_complete_month
        and (
            month_end_kpis.kpi_name = 'repeat_purchase_rate'
            or (
                month_end_kpis.kpi_name = 'churn_rate'
                and {{ add_days('month_end_kpis.kpi_date', -29) }} = month_end_kpis.month_start
            )
            or (
                -- before the history covers the lapse window the daily count is null
                month_end_kpis.kpi_name = 'lapsed_customers_30d'
                and {{ add_days('month_end_kpis.kpi_date', -29) }} = month_end_kpis.month_start
                and month_end_kpis.value is not null
            )
            or (
                month_end_kpis.kpi_name in ('net_revenue_retention', 'gross_revenue_retention')
                and {{ add_days('month_end_kpis.kpi_date', -729) }}
                = cast({{ dbt.dateadd('month', -23, 'month_end_kpis.month_start') }} as date)
            )
        )

),

final as (

    select *
    from compared
    where not (
        (daily_value is null and monthly_value is null)
        or abs(daily_value - monthly_value) <= 1e-9 * greatest(1, abs(monthly_value))
    )

)

select * from final
