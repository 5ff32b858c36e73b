"""The CLV predictions table: one row per customer with its BG/NBD x Gamma-Gamma prediction.

The models live in orchestration/lib/clv.py (pure numpy/scipy, unit-tested against the published
CDNOW estimates); this module turns a purchase history into the table the asset
intermediate/int_customer_clv_predictions writes, with the fitted parameters on every row so that
any number can be traced to the fit behind it.

A fit the data cannot support (``ClvFitError``: no repeat customer, a parameter run to a bound,
predictions that are not finite) says something about the data, not about the build: the
customers are still written, their history intact, with null predictions and parameters and the
reason in clv_fit_error, so dim_customers and everything after it still build. Any other error
is a bug and fails the build.
"""

from datetime import date, datetime

import numpy as np
import pyarrow as pa

from orchestration.lib.clv import (
    ClvFitError,
    RfmSummary,
    has_positive_repeat_spend,
    predict_customer_value,
    summarise_transactions,
)

# Recency and T in days: order dates are calendar days, so days keep them exact whole numbers
# (weeks would only add fractions). Only alpha carries the unit: alpha in days = 7 x alpha in
# weeks, the unit of the CDNOW estimates.
TIME_UNIT_DAYS = 1
# The horizon of predicted CLV (DESIGN §5); the column names say it, so it is not a parameter.
HORIZON_MONTHS = 12
# clv_fit_status: "fitted", every prediction filled; or "failed", every prediction and parameter
# null and clv_fit_error saying why.
FITTED, FAILED = "fitted", "failed"
# The columns that only a successful fit fills.
FITTED_COLUMNS = (
    "p_alive",
    "expected_purchases_12m",
    "expected_average_order_value",
    "predicted_clv_12m",
    "r",
    "alpha",
    "a",
    "b",
    "p",
    "q",
    "v",
)

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
        ("clv_fit_status", pa.string()),
        ("clv_fit_error", pa.string()),
    ]
)


def predictions_table(
    customer_ids: np.ndarray,
    order_dates: np.ndarray,
    net_revenue: np.ndarray,
    end: date,
    monthly_discount: float,
    fitted_at: datetime,
) -> pa.Table:
    """One row per customer of the purchases (non-cancelled orders on or before ``end``, one
    entry per order), the models fitted on them and their predictions from ``end`` on."""
    if len(customer_ids) == 0:
        # No purchase yet (a new warehouse, every source off): nothing to fit, no customer.
        return SCHEMA.empty_table()
    history = (customer_ids, order_dates, net_revenue, end)
    try:
        predictions = predict_customer_value(
            *history, HORIZON_MONTHS, monthly_discount, time_unit_days=TIME_UNIT_DAYS
        )
    except ClvFitError as error:
        # The facts stand without the fit: every customer is written, their history summarised
        # as the fit would have read it, with no prediction and the reason.
        summary = summarise_transactions(*history, time_unit_days=TIME_UNIT_DAYS)
        in_spend_fit = has_positive_repeat_spend(summary.frequency, summary.monetary_value)
        return customer_table(summary, in_spend_fit, {}, monthly_discount, end, fitted_at, error)

    bgnbd, gamma_gamma = predictions.bgnbd, predictions.gamma_gamma
    fitted = {
        "p_alive": predictions.p_alive,
        "expected_purchases_12m": predictions.expected_purchases,
        "expected_average_order_value": predictions.expected_average_value,
        "predicted_clv_12m": predictions.predicted_clv,
        "r": bgnbd.r,
        "alpha": bgnbd.alpha,
        "a": bgnbd.a,
        "b": bgnbd.b,
        "p": gamma_gamma.p,
        "q": gamma_gamma.q,
        "v": gamma_gamma.v,
    }
    return customer_table(
        predictions.summary, predictions.in_spend_fit, fitted, monthly_discount, end, fitted_at
    )


def customer_table(
    summary: RfmSummary,
    in_spend_fit: np.ndarray,
    fitted: dict,
    monthly_discount: float,
    end: date,
    fitted_at: datetime,
    error: ClvFitError | None = None,
) -> pa.Table:
    """One row per customer of ``summary``: the history, then ``fitted`` (per-customer arrays
    or one value for every row), each of FITTED_COLUMNS left out of it null, and the status."""
    customers = len(summary.customer_id)

    def column(name, value):
        if value is None:
            return pa.nulls(customers, SCHEMA.field(name).type)
        return value if np.ndim(value) else np.full(customers, value)

    values = {
        "customer_id": summary.customer_id,
        "frequency": summary.frequency,
        "recency": summary.recency,
        "t": summary.T,
        "monetary_value": summary.monetary_value,
        "is_in_spend_fit": in_spend_fit,
        **{name: fitted.get(name) for name in FITTED_COLUMNS},
        "time_unit_days": TIME_UNIT_DAYS,
        "monthly_discount": monthly_discount,
        "observation_end": end,
        "model_fitted_at": fitted_at,
        "clv_fit_status": FITTED if error is None else FAILED,
        "clv_fit_error": None if error is None else str(error),
    }
    return pa.table({name: column(name, value) for name, value in values.items()}, schema=SCHEMA)
