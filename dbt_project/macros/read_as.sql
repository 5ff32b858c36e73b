{#
    A value the CRM sends as text (every HubSpot property is a string), read as `type`: a
    time (`timestamp`, in the reporting time zone) or a number. Text that is not one becomes
    null rather than failing the build, and the source's `readable_as` test names it. dbt's
    own safe_cast is a plain cast on DuckDB, which fails the whole model on one bad value:
    the project's `duckdb__safe_cast` below is DuckDB's try_cast, holding a fraction to be
    no integer (try_cast would round 4.5 to 5).
#}
{% macro read_as(column, type) -%}
    {%- if type == 'timestamp' -%}
        {{ iso_text_to_reporting_timezone(column) }}
    {%- else -%}
        {{ dbt.safe_cast("nullif(trim(" ~ column ~ "), '')", type) }}
    {%- endif %}
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    {%- if 'int' in (type | string | lower) -%}
        case
            when try_cast({{ field }} as double) % 1 = 0 then try_cast({{ field }} as {{ type }})
        end
    {%- else -%}
        try_cast({{ field }} as {{ type }})
    {%- endif %}
{%- endmacro %}
