{#
    A table rebuilt in full, not incremental: it only stacks the areas' daily KPI series
    (days × members × KPIs, built in about a second), and a full rebuild applies a KPI enabled
    or disabled in the catalogue to the whole history at the next build, where an incremental
    model would need a full refresh.
#}

with

customer_value_kpis as (

    select * from {{ ref('int_customer_value_kpis_daily') }}

),

existing_customer_kpis as (

    select * from {{ ref('int_existing_customer_kpis_daily') }}

),

feedback_kpis as (

    select * from {{ ref('int_feedback_kpis_daily') }}

),

prospect_kpis as (

    select * from {{ ref('int_prospect_kpis_daily') }}

),

retention_kpis as (

    select * from {{ ref('int_retention_kpis_daily') }}

),

stakeholder_kpis as (

    select * from {{ ref('int_stakeholder_kpis_daily') }}

),

kpi_catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

all_kpis as (

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from customer_value_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from existing_customer_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from feedback_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from prospect_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from retention_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value,
        sample_size
    from stakeholder_kpis

),

final as (

    select
        -- keys
        all_kpis.kpi_date,
        all_kpis.kpi_name,
        all_kpis.dimension,
        all_kpis.dimension_value,

        -- measures (null when undefined that day, e.g. a ratio over no active customer)
        cast(all_kpis.value as {{ type_double() }}) as value,
        -- the responses, ratings, customers… a share or mean is taken over; null for a
        -- count or a sum: the alerts judge a sampled KPI's move against its sampling error
        cast(all_kpis.sample_size as {{ dbt.type_bigint() }}) as sample_size

    from all_kpis
    -- only KPIs that are in the catalogue and enabled there
    inner join kpi_catalogue
        on all_kpis.kpi_name = kpi_catalogue.kpi_name
    where kpi_catalogue.enabled

)

select * from final
