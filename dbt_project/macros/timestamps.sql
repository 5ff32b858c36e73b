{#
    Time handling shared by the staging models. Raw timestamps are instants (extraction lands
    them as timestamps with time zone); staging expresses them as wall-clock timestamps in the
    reporting time zone so that casting one to a date gives the reporting calendar day.
    Dispatched so the project keeps running on adapters without `at time zone` (Spark).
#}

{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz', 'customer_value_radar')()) }}
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}
    timestamp with time zone
{%- endmacro %}

{% macro spark__type_timestamp_tz() -%}
    timestamp
{%- endmacro %}


{# An instant (timestamp with or without time zone; naive ones are read as UTC, the session
   time zone pinned in profiles.yml) as a timestamp in the reporting time zone. #}
{% macro to_reporting_timezone(column) -%}
    {{ return(adapter.dispatch('to_reporting_timezone', 'customer_value_radar')(column)) }}
{%- endmacro %}

{% macro default__to_reporting_timezone(column) -%}
    (cast({{ column }} as {{ type_timestamp_tz() }}) at time zone '{{ var("reporting_timezone") }}')
{%- endmacro %}

{% macro spark__to_reporting_timezone(column) -%}
    from_utc_timestamp({{ column }}, '{{ var("reporting_timezone") }}')
{%- endmacro %}


{# A time as the CRM API sends it, ISO 8601 text ('2024-03-01T10:00:00.000Z') or epoch
   milliseconds ('1752228000000', as some HubSpot date properties come; '' when unset), as a
   timestamp in the reporting time zone; text that is neither becomes null, and the source's
   `readable_as` test names it. #}
{% macro iso_text_to_reporting_timezone(column) -%}
    {{ to_reporting_timezone(text_to_instant("nullif(trim(" ~ column ~ "), '')")) }}
{%- endmacro %}

{% macro text_to_instant(text) -%}
    {{ return(adapter.dispatch('text_to_instant', 'customer_value_radar')(text)) }}
{%- endmacro %}

{% macro default__text_to_instant(text) -%}
    {{ dbt.safe_cast(text, type_timestamp_tz()) }}
{%- endmacro %}

{# Epoch milliseconds are 12 or 13 digits from 1973 to 2286; other digits are no time. #}
{% macro duckdb__text_to_instant(text) -%}
    case
        when regexp_full_match({{ text }}, '[0-9]{12,13}') then epoch_ms(cast({{ text }} as bigint))
        when not regexp_full_match({{ text }}, '[0-9]+')
            then try_cast({{ text }} as {{ type_timestamp_tz() }})
    end
{%- endmacro %}

{% macro spark__text_to_instant(text) -%}
    case
        when {{ text }} rlike '^[0-9]{12,13}$' then timestamp_millis(cast({{ text }} as bigint))
        when not {{ text }} rlike '^[0-9]+$' then cast({{ text }} as timestamp)
    end
{%- endmacro %}


{# A dlt load id (epoch seconds as text, e.g. '1732370000.123456') as a UTC timestamp.
   Kept in UTC, unlike business timestamps: it serves as a watermark and must stay ordered
   through daylight-saving changes. #}
{% macro dlt_load_id_to_timestamp(column) -%}
    {{ return(adapter.dispatch('dlt_load_id_to_timestamp', 'customer_value_radar')(column)) }}
{%- endmacro %}

{# Whole days then the remaining milliseconds: a single interval of milliseconds (or of
   seconds after 2038) overflows the 32-bit interval multipliers of several databases. #}
{% macro default__dlt_load_id_to_timestamp(column) -%}
    {%- set seconds = 'cast(' ~ column ~ ' as ' ~ type_double() ~ ')' -%}
    {%- set days = 'floor(' ~ seconds ~ ' / 86400)' -%}
    {{ dbt.dateadd(
        'millisecond',
        'round((' ~ seconds ~ ' - ' ~ days ~ ' * 86400) * 1000)',
        dbt.dateadd('day', days, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")")
    ) }}
{%- endmacro %}

{% macro duckdb__dlt_load_id_to_timestamp(column) -%}
    make_timestamp(cast(round(cast({{ column }} as double) * 1000000) as bigint))
{%- endmacro %}

{# The same double arithmetic as DuckDB's, to the same microsecond. #}
{% macro spark__dlt_load_id_to_timestamp(column) -%}
    timestamp_micros(cast(round(cast({{ column }} as double) * 1000000) as bigint))
{%- endmacro %}
