{{ config(severity='warn') }}

-- Predictions degrade, facts never do: when the data cannot support the BG/NBD or the
-- Gamma-Gamma fit, int_customer_clv_predictions leaves every prediction null and the build
-- goes on, so nothing downstream is held back. This test is how it shows: it warns with the
-- reason, as a row and as a line of the build's log ("Predicted CLV unavailable: …"), since a
-- test's own message only counts rows.

{%- if execute %}
{%- set predictions = load_relation(source('python', 'int_customer_clv_predictions')) %}
{%- if predictions is not none %}
{%- set failed = run_query(
    "select distinct clv_fit_error from " ~ predictions ~ " where clv_fit_status = 'failed'"
) %}
{%- for reason in failed.columns[0].values() %}
{%- do log("Predicted CLV unavailable: " ~ reason, info=true) %}
{%- endfor %}
{%- endif %}
{%- endif %}

with

predictions as (

    select * from {{ source('python', 'int_customer_clv_predictions') }}

),

final as (

    select
        clv_fit_status,
        clv_fit_error,
        observation_end,
        count(*) as customers_without_predictions
    from predictions
    where clv_fit_status = 'failed'
    group by clv_fit_status, clv_fit_error, observation_end

)

select * from final
