{#
    Money in the marts is in the reporting currency, var('reporting_currency') (set from the
    REPORTING_CURRENCY setting), converted at the rate of the day of the order or refund.
    int_exchange_rates_daily holds the rates; these macros are the one way amounts use them.
#}

{# The reporting currency as an upper-case SQL string literal. #}
{% macro reporting_currency() -%}
    '{{ var("reporting_currency") | upper }}'
{%- endmacro %}


{#
    `amount` (in `currency`) in the reporting currency: as it is when already in the reporting
    currency (no rate needed), else times `rate` (units of reporting currency per unit of
    `currency`, from int_exchange_rates_daily). Exact, not rounded: the readers sum the
    amounts of an order (or a product) and round the sum to the cent, so a credit note for a
    whole order nets it to exactly zero, which rounding each line apart would not. A missing
    rate gives null, never 1:1; assert_every_order_and_refund_has_an_exchange_rate names
    those rows. The amount is widened past 18 digits so that the product is a wide decimal
    (37 or 38 digits, 14 decimals) on DuckDB and Spark alike: two of 18 digits multiply to
    DECIMAL(18, 14) on DuckDB, which overflows from 10,000.
#}
{% macro to_reporting_currency(amount, currency, rate) -%}
    case
        when {{ currency }} = {{ reporting_currency() }}
            then cast(({{ amount }}) as decimal(38, 14))
        else cast(
            cast(({{ amount }}) as decimal(19, 2)) * cast({{ rate }} as decimal(18, 12))
            as decimal(38, 14)
        )
    end
{%- endmacro %}
