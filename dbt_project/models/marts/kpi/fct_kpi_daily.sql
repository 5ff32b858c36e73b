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
        value
    from customer_value_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value
    from feedback_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value
    from prospect_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value
    from retention_kpis

    union all

    select
        kpi_date,
        kpi_name,
        dimension,
        dimension_value,
        value
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
        cast(all_kpis.value as {{ type_double() }}) as value

    from all_kpis
    -- only KPIs that are in the catalogue and enabled there
    inner join kpi_catalogue
        on all_kpis.kpi_name = kpi_catalogue.kpi_name
    where kpi_catalogue.enabled

)

select * from final
