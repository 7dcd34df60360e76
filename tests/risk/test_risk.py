"""The delinquency score (orchestration/risk.py): its metrics by hand, the out-of-time split, the
graceful refusal on a small warehouse and on the shared sample build, and the score with its
production settings on a denser generated year (conftest.risk_history)."""

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration import risk
from orchestration.publish import open_published


def _frame(rows: list[dict]) -> pd.DataFrame:
    """risk_features rows with every feature at a neutral value unless given."""
    base = {name: 0.0 for name in risk.NUMERIC} | {
        "plan": "starter",
        "billing_interval": "month",
        "country": "DE",
        "verification_status": "verified",
        "payment_method": "card",
        "customer_id": "c",
        "mrr_reporting": 10.0,
        "is_as_of_date": False,
    }
    frame = pd.DataFrame([base | row for row in rows])
    frame["scoring_date"] = pd.to_datetime(frame["scoring_date"])
    frame["horizon_end_date"] = frame["scoring_date"] + timedelta(days=60)
    return frame


def _history(month_ends: list[date], as_of: date, subscriptions: int, positive) -> pd.DataFrame:
    """`subscriptions` rows per month end (labelled by `positive(month, i)` once observed) and per
    the as-of date."""
    rows = []
    for month in [*month_ends, as_of]:
        observed = month + timedelta(days=60) <= as_of and month != as_of
        for i in range(subscriptions):
            rows.append(
                {
                    "subscription_id": f"s{i}",
                    "scoring_date": month,
                    "is_as_of_date": month == as_of,
                    "is_target_observed": observed,
                    risk.TARGET: positive(month, i) if observed else None,
                    "failed_attempts_90d": float(i % 3 == 0),
                }
            )
    return _frame(rows)


def test_expected_calibration_error_by_hand():
    # Bins of width 0.1: {0.1, 0.1} predict 0.1 and see 0 -> 0.1 x 2/4; 0.6 sees 1 -> 0.4 x 1/4;
    # 0.8 sees 1 -> 0.2 x 1/4. ECE = 0.05 + 0.1 + 0.05 = 0.2.
    ece = risk.expected_calibration_error(np.array([0, 0, 1, 1]), np.array([0.1, 0.1, 0.8, 0.6]))
    assert ece == pytest.approx(0.2)


def test_top_decile_revenue_capture_by_hand():
    # Ten rows, the top 10 % is one row: the highest score, delinquent with 30.00 of the
    # delinquent rows' 30 + 70 = 100.00 -> 0.3. Non-delinquent revenue never counts.
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.1, 0.8, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    revenue = np.array([30.0, 70.0, 500, 1, 1, 1, 1, 1, 1, 1])
    assert risk.top_decile_revenue_capture(y, p, revenue) == pytest.approx(0.3)


def test_split_learns_only_from_outcomes_known_by_the_first_evaluated_month():
    # Month ends Jan..Jun, as-of Aug 31: observed (month end + 60 <= Aug 31) are Jan..Jun 30
    # (Jun 30 + 60 = Aug 29). Evaluated: Jun 30. Training: month ends whose horizon ended by Jun 30
    # -> Jan 31 .. Apr 30 (Apr 30 + 60 = Jun 29); May 31 (+60 = Jul 30) would leak July's outcomes.
    months = [date(2026, m, 1) + pd.offsets.MonthEnd(0) for m in range(1, 7)]
    months = [m.date() for m in months]
    frame = _history(months, date(2026, 8, 31), 40, lambda month, i: i % 4 == 0)
    parts = risk.split(frame, risk.RiskConfig(min_training_positives=1, min_evaluation_positives=1))
    assert parts.reason is None
    assert sorted(parts.evaluate["scoring_date"].dt.date.unique()) == [date(2026, 6, 30)]
    assert sorted(parts.train["scoring_date"].dt.date.unique()) == months[:4]
    assert parts.train["horizon_end_date"].max() <= pd.Timestamp("2026-06-30")
    assert not parts.train["is_as_of_date"].any() and parts.score["is_as_of_date"].all()


def _tiny_warehouse(tmp_path, frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "tiny.duckdb"))
    con.execute("create schema marts")
    con.register("features", frame.drop(columns=["mrr_reporting"]))
    con.register(
        "subscriptions",
        frame[["subscription_id", "mrr_reporting"]].drop_duplicates("subscription_id"),
    )
    con.execute("create table marts.risk_features as select * from features")
    con.execute("create table marts.dim_subscriptions as select * from subscriptions")
    return con


def test_too_few_months_is_a_recorded_reason_and_empty_tables(tmp_path):
    # Data Jan..Apr 15: only Jan 31 (+60 = Apr 1) has an observed outcome; 3 month ends are needed.
    months = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    con = _tiny_warehouse(tmp_path, _history(months, date(2026, 4, 15), 3, lambda m, i: True))
    report = risk.run(con)
    assert report.status == "not_enough_history"
    assert report.reason == (
        "1 month end(s) with an observed outcome; 3 are needed (2 to train, 1 to evaluate)"
    )
    assert con.execute("select count(*) from risk.subscription_scores").fetchone() == (0,)
    assert con.execute("select count(*) from marts.subscription_risk_evaluation").fetchone() == (0,)
    assert con.execute("select status, reason from marts.subscription_risk_model").fetchall() == [
        ("not_enough_history", f"Not enough history to score: {report.reason}.")
    ]


def test_too_few_delinquencies_is_a_recorded_reason(tmp_path):
    # Month ends Jan..Jun, as-of Aug 31, 3 subscriptions: training Jan..Apr holds one delinquency
    # a month (s0) -> 4 to learn from, 20 needed.
    months = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
              date(2026, 5, 31), date(2026, 6, 30)]  # fmt: skip
    frame = _history(months, date(2026, 8, 31), 3, lambda month, i: i == 0)
    report = risk.run(_tiny_warehouse(tmp_path, frame))
    assert (report.status, report.reason) == (
        "not_enough_history",
        "4 delinquencies to learn from; 20 are needed",
    )


def _signal_history() -> pd.DataFrame:
    """Synthetic history (the learning code, not the sample's signal): delinquency follows
    reminders ignored and days past due; a failed payment adds only a little. 400 subscriptions,
    12 month ends of 2025 and an as-of date; a tenth of the days late unknown, a fifth in FR."""
    rng = np.random.default_rng(7)
    months = [(pd.Timestamp(2025, m, 1) + pd.offsets.MonthEnd(0)).date() for m in range(1, 13)]
    rows = []
    for month in [*months, date(2026, 3, 15)]:
        observed = month + timedelta(days=60) <= date(2026, 3, 15) and month.year == 2025
        for i in range(400):
            ignored, late, failed = rng.poisson(1.0), rng.exponential(5.0), rng.random() < 0.3
            logit = -4.0 + 0.9 * ignored + 0.15 * late + 0.3 * failed
            rows.append(
                {
                    "subscription_id": f"s{i}",
                    "scoring_date": month,
                    "is_as_of_date": month.year == 2026,
                    "is_target_observed": observed,
                    risk.TARGET: bool(rng.random() < 1 / (1 + np.exp(-logit)))
                    if observed
                    else None,
                    "reminders_ignored_90d": float(ignored),
                    "mean_days_late": np.nan if i % 10 == 0 else late,
                    "failed_attempts_90d": float(failed),
                    "country": "FR" if i % 5 == 0 else "DE",
                }
            )
    return _frame(rows)


def test_the_model_learns_a_signal_the_rule_cannot_see():
    # The rule "any failed payment in 90 days" sees only the weak part of the signal, so the
    # calibrated model must rank better.
    report, scores, evaluation, model_row = risk.train_and_score(
        _signal_history(), risk.RiskConfig(evaluation_months=2)
    )
    auc = dict(zip(evaluation["model"], evaluation["roc_auc"], strict=True))
    assert report.status == "scored" and len(scores) == 400
    assert auc["gradient_boosting"] >= auc["rule_failed_payment_90d"] + 0.05, auc
    assert {"reminders_ignored_90d", "mean_days_late"} <= set(report.top_features[:3])
    # 9 month ends (January to September 30, whose horizon ends November 29) had their 60-day
    # outcome by the first evaluated month end (November 30), 400 rows each, all fitted.
    assert model_row["training_rows"] == model_row["fitted_rows"] == 9 * 400


def test_a_large_history_is_fitted_on_a_sample_and_still_scores_every_subscription():
    # Above max_fitted_rows the models learn from a seeded sample of the 3,600 training rows; the
    # signal is still found, the evaluation still uses all 800 held-out rows, every subscription
    # is still scored, and the model row says how many rows were fitted.
    config = risk.RiskConfig(evaluation_months=2, max_fitted_rows=1_000, max_importance_rows=300)
    report, scores, evaluation, model_row = risk.train_and_score(_signal_history(), config)
    auc = dict(zip(evaluation["model"], evaluation["roc_auc"], strict=True))
    assert (model_row["training_rows"], model_row["fitted_rows"]) == (3_600, 1_000)
    assert set(evaluation["evaluation_rows"]) == {800} and len(scores) == 400
    assert auc["gradient_boosting"] >= auc["rule_failed_payment_90d"] + 0.05, auc
    assert {"reminders_ignored_90d", "mean_days_late"} <= set(report.top_features[:3])
    again = risk.train_and_score(_signal_history(), config)[1]
    pd.testing.assert_frame_equal(scores, again)  # seeded: the same sample every run


def test_reasons_equal_predicting_every_feature_of_every_row_again():
    # reasons() predicts again only the rows whose value differs from the reference; the naive
    # way, every row with every feature replaced, must give the same reasons.
    history = _signal_history()
    train = history[history["is_target_observed"]]
    categories = {n: sorted(train[n].dropna().unique().tolist()) for n in risk.CATEGORICAL}
    x = risk._design(train, categories)
    model = risk._gradient_boosting(risk.RiskConfig()).fit(x, train[risk.TARGET].astype(bool))
    reference = {n: float(np.nanmedian(x[n])) for n in risk.NUMERIC} | {
        n: train[n].mode().iloc[0] for n in risk.CATEGORICAL
    }
    rows = risk._design(history[history["is_as_of_date"]], categories)
    base = model.predict_proba(rows)[:, 1]
    lifts = np.zeros((len(rows), len(risk.FEATURES)))
    for j, name in enumerate(risk.FEATURES):
        neutral = rows.copy()
        neutral[name] = (
            pd.Categorical([reference[name]] * len(rows), categories=rows[name].cat.categories)
            if name in risk.CATEGORICAL
            else reference[name]
        )
        lifts[:, j] = base - model.predict_proba(neutral)[:, 1]
    naive = []
    for i in range(len(rows)):
        ranked = [j for j in np.argsort(-lifts[i], kind="stable")[:3] if lifts[i, j] > 0]
        value = rows.iloc[i]
        naive.append([risk._reason_text(risk.FEATURES[j], value[risk.FEATURES[j]]) for j in ranked])
    assert risk.reasons(model, rows, reference) == naive
    assert sum(bool(r) for r in naive) > 200  # most rows have a reason: the comparison has teeth


def test_sample_build_records_why_it_did_not_score(sample_settings):
    with open_published(sample_settings.published_path) as con:
        status = con.execute("select status, reason from marts.subscription_risk_model").fetchall()
        rows = con.execute("select count(*) from marts.subscription_risk").fetchone()[0]
    assert status == [
        (
            "not_enough_history",
            "Not enough history to score: 5 delinquencies to learn from; 20 are needed.",
        )
    ]
    assert rows == 0


@pytest.fixture(scope="module")
def scored_history(risk_history):
    """The dense history's features, active subscriptions and written tables (conftest.py)."""
    warehouse, report = risk_history
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        frame = risk.load_features(con)
        active = {s for (s,) in con.execute(
            "select subscription_id from marts.dim_subscriptions where is_active").fetchall()}  # fmt: skip
        scores = con.execute("select * from marts.subscription_risk").df()
        evaluation = con.execute("select * from marts.subscription_risk_evaluation").df()
    return report, frame, active, scores, evaluation


def test_model_beats_the_rule_out_of_time_on_a_generated_year(scored_history):
    # Production settings (20 delinquencies to learn from, 5 to evaluate on), no test-only
    # thresholds. The target: ROC AUC at least 0.05 above "any failed payment in 90 days".
    report, _, _, _, evaluation = scored_history
    assert (report.status, report.reason) == ("scored", None)
    auc = dict(zip(evaluation["model"], evaluation["roc_auc"], strict=True))
    [positives] = set(evaluation["evaluation_positives"])
    assert positives >= risk.RiskConfig().min_evaluation_positives
    assert auc["gradient_boosting"] >= auc["rule_failed_payment_90d"] + 0.05, auc


def test_score_covers_every_active_subscription_at_the_as_of_date(scored_history):
    _, _, active, scores, _ = scored_history
    assert len(scores) == len(active) and set(scores["subscription_id"]) == active
    assert scores["probability"].between(0, 1).all()
    # Rounded to the cent: at most half a cent off (plus the float product's last bits).
    assert (scores["expected_revenue_at_risk_reporting"].astype(float) - scores["probability"]
            * scores["mrr_reporting"].astype(float)).abs().max() <= 0.005 + 1e-9  # fmt: skip


def test_generated_features_never_see_the_future(scored_history):
    _, frame, _, _, _ = scored_history
    # Unobserved horizons are never labelled; the as-of rows are never labelled.
    assert frame.loc[~frame["is_target_observed"], risk.TARGET].isna().all()
    assert not frame.loc[frame["is_as_of_date"], "is_target_observed"].any()
    # A feature row's scoring time is its scoring date's last instant, or the as-of time.
    month_ends = frame[~frame["is_as_of_date"]]
    assert (month_ends["scoring_at"].dt.date == month_ends["scoring_date"].dt.date).all()


def test_a_yes_no_feature_reads_as_words_in_a_reason():
    label = "card on file expires within 30 days"
    assert risk._reason_text("card_expires_within_30_days", 1.0) == f"{label}: yes"
    assert risk._reason_text("card_expires_within_30_days", 0.0) == f"{label}: no"
    assert risk._reason_text("card_expires_within_30_days", float("nan")) == f"{label}: unknown"
