{#
    The day customer values are measured on (RFM scores, predicted CLV, active and lapsed
    status): `as_of` when set, else the last order date of `orders` (a relation or CTE with an
    order_date column, cancelled orders included), the same last day as the daily
    customer-value mart, so a customer's status in dim_customers matches that mart's last day.
    The Python asset int_customer_clv_predictions measures on the run's as-of day, the day the
    job gives dbt; a data test checks that both describe the same day.
#}
{% macro clv_observation_end(orders) -%}
    {%- set as_of = as_of() -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        (select max(order_date) from {{ orders }})
    {%- endif -%}
{%- endmacro %}
