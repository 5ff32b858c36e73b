{#
    Pre-hook of the incremental fct_customer_value_daily.

    delete+insert replaces only the keys it inserts, so rows whose day or dimension member no
    longer exists in the data would survive an incremental build and differ from a full
    refresh: days before the first order or after the last day (an order moved in time,
    `as_of` moved back) and segments or regions that lost their last customer. This deletes
    them; it uses the same definitions of the daily series and its members as the model.
#}
{% macro delete_customer_value_rows_out_of_scope() %}
{% if is_incremental() %}
    {%- set as_of = var('as_of', none) %}
    delete from {{ this }}
    where not coalesce(
        value_date between (
            select min(order_date) from {{ ref('int_orders_enriched') }}
            {%- if as_of %} where order_date <= cast('{{ as_of }}' as date){% endif %}
        ) and (
            {%- if as_of %}
            select cast('{{ as_of }}' as date)
            {%- else %}
            select max(order_date) from {{ ref('int_orders_enriched') }}
            {%- endif %}
        ),
        false
    )
    or (
        dimension = 'segment'
        and dimension_value not in (
            select segment from {{ ref('int_orders_enriched') }}
            {%- if as_of %} where order_date <= cast('{{ as_of }}' as date){% endif %}
        )
    )
    or (
        dimension = 'region'
        and dimension_value not in (
            select region from {{ ref('int_orders_enriched') }}
            {%- if as_of %} where order_date <= cast('{{ as_of }}' as date){% endif %}
        )
    )
{% endif %}
{% endmacro %}
