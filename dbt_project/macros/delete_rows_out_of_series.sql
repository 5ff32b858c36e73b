{#
    Pre-hook of an incremental daily mart (one row per day × dimension × dimension_value).

    delete+insert replaces only the keys it inserts, so rows whose day or dimension member no
    longer exists in the data would survive an incremental build and differ from a full
    refresh: days outside the series (data moved in time, `as_of` moved back) and members
    that lost their last row. This deletes them. `calendar` is a query of the series'
    first_day and last_day, `members` one of its dimension and dimension_value pairs: the
    definitions the model itself uses.
#}
{% macro delete_rows_out_of_series(date_column, calendar, members) %}
{% if is_incremental() %}
    delete from {{ this }}
    where
        not coalesce(
            {{ date_column }} between (select first_day from ({{ calendar }}) as series)
            and (select last_day from ({{ calendar }}) as series),
            false
        )
        or not exists (
            select 1
            from ({{ members }}) as members
            where
                members.dimension = {{ this }}.dimension
                and members.dimension_value = {{ this }}.dimension_value
        )
{% endif %}
{% endmacro %}
