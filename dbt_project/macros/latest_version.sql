{#
    Raw keeps every version of a record it received. The current one is the latest update and,
    among versions with the same update time, the latest load. Used as the `qualify` of a
    staging model's `latest` CTE. (Sources whose records never change, web events and pulse
    responses, are merged on their key at extraction: raw holds one row per key.)
#}
{% macro latest_version(key) -%}
    qualify row_number() over (
        partition by {{ key }}
        order by updated_at desc, {{ dlt_load_id_to_timestamp('_dlt_load_id') }} desc
    ) = 1
{%- endmacro %}
