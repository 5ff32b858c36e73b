"""Predicted customer value: BG/NBD purchases x Gamma-Gamma spend, fitted on every build.

The models live in orchestration/lib/clv.py (pure numpy/scipy, unit-tested against the published
CDNOW estimates); this model only reads the orders, calls them and writes one row per customer,
with the fitted parameters on every row so that any number can be traced to the fit behind it.
"""

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from orchestration.lib.clv import predict_customer_value

# Recency and T in days: order dates are calendar days, so days keep them exact whole numbers
# (weeks would only add fractions). Only alpha carries the unit: alpha in days = 7 x alpha in
# weeks, the unit of the CDNOW estimates.
TIME_UNIT_DAYS = 1
# The horizon of predicted CLV (DESIGN §5); the column names say it, so it is not a parameter.
HORIZON_MONTHS = 12

SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("frequency", pa.int64()),
        ("recency", pa.float64()),
        ("t", pa.float64()),
        ("monetary_value", pa.float64()),
        ("is_in_spend_fit", pa.bool_()),
        ("p_alive", pa.float64()),
        ("expected_purchases_12m", pa.float64()),
        ("expected_average_order_value", pa.float64()),
        ("predicted_clv_12m", pa.float64()),
        ("r", pa.float64()),
        ("alpha", pa.float64()),
        ("a", pa.float64()),
        ("b", pa.float64()),
        ("p", pa.float64()),
        ("q", pa.float64()),
        ("v", pa.float64()),
        ("time_unit_days", pa.int64()),
        ("monthly_discount", pa.float64()),
        ("observation_end", pa.date32()),
        ("model_fitted_at", pa.timestamp("us")),
    ]
)


def observation_end(orders, as_of: str) -> date | None:
    """`as_of` when set, else the last order date (cancelled orders included), as the daily
    customer-value mart ends its series, so both describe the same day."""
    if as_of:
        return date.fromisoformat(str(as_of))
    return orders.aggregate("max(order_date)").fetchall()[0][0]


def model(dbt, session):
    # dbt vars reach a Python model only through its config (see _clv__models.yml).
    as_of = dbt.config.meta_get("as_of")
    monthly_discount = float(dbt.config.meta_get("monthly_discount"))

    orders = dbt.ref("int_orders_enriched")
    end = observation_end(orders, as_of)
    purchases = orders.filter(
        f"not is_cancelled and order_date <= cast('{end}' as date)" if end else "false"
    ).project("customer_id, order_date, cast(net_revenue as double) as net_revenue")
    columns = purchases.fetchnumpy()
    if len(columns["customer_id"]) == 0:
        # No purchase yet (a new warehouse, every source off): nothing to fit, no customer.
        return SCHEMA.empty_table()

    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    predictions = predict_customer_value(
        columns["customer_id"],
        columns["order_date"],
        columns["net_revenue"],
        end,
        HORIZON_MONTHS,
        monthly_discount,
        time_unit_days=TIME_UNIT_DAYS,
    )
    summary, bgnbd, gamma_gamma = predictions.summary, predictions.bgnbd, predictions.gamma_gamma
    customers = len(summary.customer_id)

    def repeated(value):
        return np.full(customers, value)

    return pa.table(
        {
            "customer_id": summary.customer_id,
            "frequency": summary.frequency,
            "recency": summary.recency,
            "t": summary.T,
            "monetary_value": summary.monetary_value,
            "is_in_spend_fit": predictions.in_spend_fit,
            "p_alive": predictions.p_alive,
            "expected_purchases_12m": predictions.expected_purchases,
            "expected_average_order_value": predictions.expected_average_value,
            "predicted_clv_12m": predictions.predicted_clv,
            "r": repeated(bgnbd.r),
            "alpha": repeated(bgnbd.alpha),
            "a": repeated(bgnbd.a),
            "b": repeated(bgnbd.b),
            "p": repeated(gamma_gamma.p),
            "q": repeated(gamma_gamma.q),
            "v": repeated(gamma_gamma.v),
            "time_unit_days": repeated(TIME_UNIT_DAYS),
            "monthly_discount": repeated(monthly_discount),
            "observation_end": repeated(end),
            "model_fitted_at": repeated(fitted_at),
        },
        schema=SCHEMA,
    )
