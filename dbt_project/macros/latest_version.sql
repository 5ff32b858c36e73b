{#
    Raw keeps every version of a record it received. The current one is the latest update and,
    among versions with the same update time, the latest load; files without an update time
    (web events, pulse exports) keep the latest load. Used as the `qualify` of a staging model's
    `latest` CTE.
#}
{% macro latest_version(key, updated_at='updated_at') -%}
    qualify row_number() over (
        partition by {{ key }}
        order by
            {% if updated_at %}{{ updated_at }} desc, {% endif -%}
            {{ dlt_load_id_to_timestamp('_dlt_load_id') }} desc
    ) = 1
{%- endmacro %}
