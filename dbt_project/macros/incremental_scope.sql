{#
    The `scope` CTE of an incremental daily mart (one row per day × dimension ×
    dimension_value, each row keeping the load watermark `_loaded_at` it was computed with):
    the series' first_day and last_day, and recompute_from, the first day this build writes.

    A full build writes every day. An incremental one starts at the earliest of: the earliest
    day (`changed_day`, an expression over `relation`) of the rows of `relation` loaded since
    the previous build's watermark, less the look-back var('incremental_lookback_minutes') for
    a load that committed after that build with an older load id; the day after the last one
    built; and the first day when a dimension member is new, since it needs its whole series.

    A table built before the model was incremental has no `_loaded_at`: it is rebuilt whole,
    the model's on_schema_change adding the column.

    Renders the CTEs up to `scope` and a trailing comma; the model defines `calendar`
    (first_day, last_day) and `dimension_members` (dimension, dimension_value) before it.
#}
{% macro incremental_scope(date_column, relation, changed_day) -%}
{%- set watermarked = is_incremental() and (
    adapter.get_columns_in_relation(this) | selectattr('name', 'equalto', '_loaded_at') | list
) %}
{% if watermarked %}

previous_build as (

    select
        max({{ date_column }}) as last_built_day,
        max(_loaded_at) as loaded_through
    from {{ this }}

),

previous_members as (

    select distinct
        dimension,
        dimension_value
    from {{ this }}

),

changed_rows as (

    select min({{ changed_day }}) as first_changed_day
    from {{ relation }}
    cross join previous_build
    where
        previous_build.loaded_through is null
        or {{ relation }}._loaded_at > {{ dbt.dateadd(
            'minute', -(var('incremental_lookback_minutes') | int),
            'previous_build.loaded_through'
        ) }}

),

new_members as (

    select count(*) as new_member_count
    from dimension_members
    left join previous_members
        on
            dimension_members.dimension = previous_members.dimension
            and dimension_members.dimension_value = previous_members.dimension_value
    where previous_members.dimension is null

),

scope as (

    select
        calendar.first_day,
        calendar.last_day,
        greatest(
            calendar.first_day,
            least(
                coalesce(
                    changed_rows.first_changed_day,
                    {{ add_days('calendar.last_day', 1) }}
                ),
                coalesce(
                    {{ add_days('previous_build.last_built_day', 1) }},
                    calendar.first_day
                ),
                case
                    when new_members.new_member_count > 0 then calendar.first_day
                    else {{ add_days('calendar.last_day', 1) }}
                end
            )
        ) as recompute_from
    from calendar
    cross join previous_build
    cross join changed_rows
    cross join new_members

),

{% else %}

scope as (

    select
        first_day,
        last_day,
        first_day as recompute_from
    from calendar

),

{% endif %}
{%- endmacro %}
