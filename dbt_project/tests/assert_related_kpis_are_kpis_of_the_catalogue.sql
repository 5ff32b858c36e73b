-- Every KPI named in related_kpis is a KPI of the catalogue, and not the KPI itself.
with

catalogue as (

    select * from {{ ref('kpi_catalogue') }}

),

related as (

    select
        kpi_name,
        {{ split_to_rows("coalesce(related_kpis, '')", "' '") }} as related_kpi_name
    from catalogue

),

final as (

    select
        related.kpi_name,
        related.related_kpi_name
    from related
    left join catalogue
        on related.related_kpi_name = catalogue.kpi_name
    where
        related.related_kpi_name <> ''
        and (catalogue.kpi_name is null or related.related_kpi_name = related.kpi_name)

)

select * from final
