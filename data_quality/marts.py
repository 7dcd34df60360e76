"""Checks on the dbt marts that dbt's own tests do not express.

dbt tests sit next to each column (not_null, unique, accepted_values, within_range for every
rate) and fail the dbt build. These GX checks look across rows, models and sources: money that
must add up between two marts or between a mart and the raw export, and distributions that
must stay within plausible bands. See docs/data_quality.md for the split.
"""

from __future__ import annotations

import pandas as pd

from data_quality.core import (
    Check,
    Expect,
    Probe,
    QualityConfig,
    at_least,
    at_most,
    dispersion,
    drift_limits,
    none_of,
    one_row,
)
from data_quality.raw import current
from orchestration.contract import ENTITY_BY_NAME

BUCKETS = {  # ageing bucket (fct_invoices.ageing_bucket) → receivables_daily column
    "current": "current_reporting",
    "1-30": "past_due_1_30_reporting",
    "31-60": "past_due_31_60_reporting",
    "61-90": "past_due_61_90_reporting",
    "91+": "past_due_91_plus_reporting",
}
CENT = 0.005  # half a cent: the rounding of one decimal(18,2) figure


def mart(model: str) -> tuple[str, ...]:
    """Dagster asset key of a dbt mart (dagster-dbt default: the model's schema, then its name)."""
    return ("marts", model)


# --- ageing buckets partition the open receivables ---------------------------------------------


def _as_of_buckets_sql() -> str:
    """Per bucket on the as-of day: receivables_daily's amount vs fct_invoices' open amounts."""
    columns = ", ".join(BUCKETS.values())
    names = ", ".join(f"('{c}', '{b}')" for b, c in BUCKETS.items())
    return f"""
        with daily_buckets as (
            select bucket_column, amount
            from (
                select {", ".join(f"sum({c}) as {c}" for c in BUCKETS.values())}
                from marts.receivables_daily
                where date_day = (select max(as_of_date) from marts.fct_invoices)
            ) unpivot (amount for bucket_column in ({columns}))
        ),
        invoice_buckets as (
            select ageing_bucket, sum(amount_remaining * fx_rate_to_reporting) as amount,
                count(*) as invoices
            from marts.fct_invoices where amount_remaining > 0 group by 1
        ),
        names (bucket_column, ageing_bucket) as (values {names})
        select names.ageing_bucket,
            round(coalesce(d.amount, 0), 2) as daily_amount,
            round(coalesce(i.amount, 0), 2) as invoices_amount,
            coalesce(d.amount, 0) - coalesce(i.amount, 0) as gap,
            -- the daily mart rounds each invoice's amount once
            {CENT} * (coalesce(i.invoices, 0) + 1) as tolerance
        from names
        left join daily_buckets d on d.bucket_column = names.bucket_column
        left join invoice_buckets i on i.ageing_bucket = names.ageing_bucket"""


def ageing_partition_check() -> Check:
    bucket_sum = " + ".join(BUCKETS.values())
    row_rules = {
        "rows_where_buckets_miss_open": (
            f"abs({bucket_sum} - open_receivables_reporting) > {5 * CENT}"
        ),
        "rows_where_past_due_is_not_open_minus_current": (
            f"abs(open_receivables_reporting - current_reporting - past_due_reporting) > {2 * CENT}"
        ),
        "rows_with_negative_bucket": f"least({', '.join(BUCKETS.values())}) < 0",
    }

    def frame(probe: Probe) -> pd.DataFrame:
        counts = ", ".join(f"count(*) filter (where {p}) as {n}" for n, p in row_rules.items())
        return probe.frame(
            f"""
            with compared as ({_as_of_buckets_sql()})
            select {counts},
                (select count(*) filter (where abs(gap) > tolerance) from compared)
                    as as_of_buckets_disagreeing_with_invoices,
                (select max(as_of_date) from marts.fct_invoices) as as_of_date
            from marts.receivables_daily
            """
        )

    def examples(probe: Probe, column: str) -> list[str]:
        if column == "as_of_buckets_disagreeing_with_invoices":
            rows = probe.con.execute(
                f"select ageing_bucket, daily_amount, invoices_amount "
                f"from ({_as_of_buckets_sql()}) where abs(gap) > tolerance order by 1"
            ).fetchall()
            return [f"{b}: receivables_daily {d} vs fct_invoices {i}" for b, d, i in rows]
        rows = probe.con.execute(
            "select date_day, plan, country, payment_method, currency "
            f"from marts.receivables_daily where {row_rules[column]} order by all limit 5"
        ).fetchall()
        return [f"{d:%Y-%m-%d} {p}/{c}/{m}/{cur}" for d, p, c, m, cur in rows]

    return Check(
        asset=mart("receivables_daily"),
        name="ageing_partition",
        severity="ERROR",
        description="Every day and segment, the five ageing buckets add up to the open "
        "receivables (to the cent), and on the as-of day each bucket equals the open amounts "
        "of the invoices fct_invoices puts in it.",
        frame=frame,
        expectations=lambda config: [
            *(none_of(name) for name in row_rules),
            none_of("as_of_buckets_disagreeing_with_invoices"),
        ],
        examples=examples,
        deps=(mart("fct_invoices"),),
    )


# --- invoice totals reconcile with the raw export ----------------------------------------------


def invoices_reconcile_check() -> Check:
    invoices = ENTITY_BY_NAME["invoices"]

    def _compared(probe: Probe) -> pd.DataFrame:
        return probe.frame(
            f"""
            with raw_side as (
                select currency, status, count(*) as invoices, sum(amount_due) as amount_due
                from {current(invoices)} group by all
            ),
            mart_side as (
                select currency, status, count(*) as invoices, sum(amount_due) as amount_due
                from marts.fct_invoices group by all
            )
            select coalesce(r.currency, m.currency) as currency,
                coalesce(r.status, m.status) as status,
                coalesce(r.invoices, 0) as raw_invoices, coalesce(m.invoices, 0) as mart_invoices,
                coalesce(r.amount_due, 0) as raw_amount_due,
                coalesce(m.amount_due, 0) as mart_amount_due
            from raw_side r full join mart_side m
                on r.currency = m.currency and r.status = m.status
            order by 1, 2
            """
        )

    def frame(probe: Probe) -> pd.DataFrame:
        compared = _compared(probe)
        count_gap = (compared["mart_invoices"] - compared["raw_invoices"]).abs()
        amount_gap = (
            compared["mart_amount_due"].astype(float) - compared["raw_amount_due"].astype(float)
        ).abs()
        return one_row(
            {
                "groups_with_count_gap": int((count_gap > 0).sum()),
                "groups_with_amount_gap": int((amount_gap > probe.config.amount_tolerance).sum()),
                "raw_invoices": int(compared["raw_invoices"].sum()),
                "mart_invoices": int(compared["mart_invoices"].sum()),
                "max_amount_gap": round(float(amount_gap.max()), 2) if len(compared) else 0.0,
            }
        )

    def examples(probe: Probe, column: str) -> list[str]:
        compared = _compared(probe)
        rows = []
        for r in compared.itertuples():
            if (
                r.raw_invoices != r.mart_invoices
                or abs(float(r.raw_amount_due) - float(r.mart_amount_due))
                > probe.config.amount_tolerance
            ):
                rows.append(
                    f"{r.currency}/{r.status}: raw {r.raw_invoices} invoices "
                    f"{float(r.raw_amount_due):.2f}, mart {r.mart_invoices} invoices "
                    f"{float(r.mart_amount_due):.2f}"
                )
        return rows[:5]

    return Check(
        asset=mart("fct_invoices"),
        name="reconciles_with_raw",
        severity="ERROR",
        description="Per currency and status, fct_invoices holds as many invoices and as much "
        "billed money as the current raw export (no invoice lost, duplicated or re-statused).",
        frame=frame,
        expectations=lambda config: [
            none_of("groups_with_count_gap"),
            none_of("groups_with_amount_gap"),
        ],
        examples=examples,
        deps=(("raw", "invoices"),),
    )


# --- distribution of decline classes ------------------------------------------------------------


def decline_mix_check() -> Check:
    shares = ("hard_decline_share", "fraud_decline_share")

    def frame(probe: Probe) -> pd.DataFrame:
        days = probe.config.decline_recent_days
        # Failed attempts by window of `days`, counted back from the newest: window 0 is the
        # recent one, the others are the history it is compared with.
        windows = probe.frame(
            f"""
            select floor(date_diff('second', attempted_at,
                    (select max(attempted_at) from marts.fct_payment_attempts))
                    / ({days} * 86400))::int as window_no,
                count(*) as failed,
                count(*) filter (where decline_class in ('hard', 'fraud')) as hard,
                count(*) filter (where decline_class = 'fraud') as fraud
            from marts.fct_payment_attempts
            where not is_success
            group by window_no
            """
        )
        rows = {int(r.window_no): r for r in windows.itertuples()}
        recent = rows.pop(0, None)
        recent_n = int(recent.failed) if recent else 0
        earlier_n = sum(int(r.failed) for r in rows.values())
        row: dict = {"recent_failed_attempts": recent_n, "earlier_failed_attempts": earlier_n}
        for share, hits in zip(shares, ("hard", "fraud"), strict=True):
            history = [(int(getattr(r, hits)), int(r.failed)) for r in rows.values()]
            row[f"recent_{share}"] = getattr(recent, hits) / recent_n if recent_n else None
            row[f"{share}_dispersion"] = round(dispersion(history), 6)
            low, high = drift_limits(
                probe.config,
                sum(h for h, _ in history),
                earlier_n,
                recent_n,
                row[f"{share}_dispersion"],
            )
            row[f"recent_{share}_low"], row[f"recent_{share}_high"] = low, high
        return one_row(row)

    def expectations(config: QualityConfig) -> list[Expect]:
        window = f"last {config.decline_recent_days} days vs before"
        return [
            expect(f"recent_{share}", f"recent_{share}_{side}", window)
            for share in shares
            for expect, side in ((at_least, "low"), (at_most, "high"))
        ]

    return Check(
        asset=mart("fct_payment_attempts"),
        name="decline_mix",
        severity="WARN",
        description="Shares of hard (incl. fraud) and of fraud declines among the last days' "
        "failed attempts, within the p-chart limits of the data's own earlier history: a shift "
        "means a processor or classification change, or an attack.",
        frame=frame,
        expectations=expectations,
    )


def mart_checks() -> list[Check]:
    return [invoices_reconcile_check(), ageing_partition_check(), decline_mix_check()]
