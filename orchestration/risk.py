"""The early-warning delinquency score: train on the warehouse's own history, score the as-of date.

Reads `marts.risk_features` (point-in-time features and the 60-day target, built by dbt) and
writes three tables:

- `risk.subscription_scores`: every subscription active at the as-of date, its calibrated
  probability of becoming delinquent in the horizon, risk band, expected revenue at risk
  (probability x MRR) and its top three reasons. A dbt source: the mart
  `marts.subscription_risk` (and the semantic layer's `expected_revenue_at_risk` over it) is
  built from it after this step, so readers get it checked by dbt's tests;
- `marts.subscription_risk_evaluation`: the out-of-time evaluation of the model against a rule
  ("any failed payment in the last 90 days") and a logistic regression on the same features;
- `marts.subscription_risk_model`: one row, what was trained on what, or why nothing was scored.

A warehouse with too few observed months or delinquencies gets a `not_enough_history` row with its
reason and empty score and evaluation tables, never an exception. Definitions: docs/metrics.md
"Early-warning delinquency score"; the model card: docs/model_card.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

TARGET = "is_delinquent_next_horizon"
CATEGORICAL = ("plan", "billing_interval", "country", "verification_status", "payment_method")
# What a reason says about each feature (the dashboard shows "label: value").
NUMERIC_LABELS = {
    "tenure_days": "days since the subscription started",
    "last_invoice_amount_reporting": "latest invoice amount",
    "invoice_amount_change_reporting": "change of the invoice amount",
    "invoices_due": "invoices due so far",
    "invoices_paid_late": "invoices paid late",
    "mean_days_late": "mean days late",
    "max_days_late": "most days late",
    "open_past_due_invoices": "invoices past due now",
    "days_past_due": "days past due now",
    "invoices_written_off": "invoices written off",
    "attempts_90d": "payment attempts in 90 days",
    "failed_attempts_90d": "failed payments in 90 days",
    "soft_declines_90d": "soft declines in 90 days",
    "hard_declines_90d": "hard declines in 90 days",
    "fraud_declines_90d": "fraud declines in 90 days",
    "expired_card_declines_90d": "expired-card declines in 90 days",
    "failed_attempts_total": "failed payments ever",
    "days_since_last_failure": "days since the last failed payment",
    "share_3ds_90d": "share of payments with 3-D Secure",
    "reminders_sent_90d": "reminders sent in 90 days",
    "reminders_opened_90d": "reminders opened in 90 days",
    "reminders_ignored_90d": "reminders ignored in 90 days",
    "payment_method_age_days": "days since the payment method changed",
    "method_updates_90d": "payment-method changes in 90 days",
    "expired_card_updates_90d": "card replacements after expiry in 90 days",
    "card_expires_within_30_days": "card on file expires within 30 days",
    "disputes_total": "disputes ever",
    "disputes_90d": "disputes in 90 days",
}
CATEGORICAL_LABELS = {
    "plan": "plan",
    "billing_interval": "billing interval",
    "country": "country",
    "verification_status": "verification",
    "payment_method": "payment method",
}
# Yes/no features, numbers to the model (1/0, null = no card known), words in a reason.
BOOLEAN = frozenset({"card_expires_within_30_days"})
NUMERIC = tuple(NUMERIC_LABELS)
FEATURES = NUMERIC + CATEGORICAL
MODELS = ("gradient_boosting", "logistic_regression", "rule_failed_payment_90d")

SCORE_DDL = """create or replace table risk.subscription_scores (
    subscription_id varchar primary key,
    customer_id varchar not null,
    scoring_date date not null,
    probability double not null,
    risk_band varchar not null,
    mrr_reporting decimal(18, 2),
    expected_revenue_at_risk_reporting decimal(18, 2),
    reason_1 varchar,
    reason_2 varchar,
    reason_3 varchar,
    model_version varchar not null
)"""
EVALUATION_DDL = """create or replace table marts.subscription_risk_evaluation (
    model varchar primary key,
    roc_auc double,
    pr_auc double,
    brier double,
    ece double,
    top_decile_revenue_capture double,
    evaluation_rows integer not null,
    evaluation_positives integer not null,
    model_version varchar not null
)"""
MODEL_DDL = """create or replace table marts.subscription_risk_model (
    model_version varchar not null,
    status varchar not null,
    reason varchar,
    as_of_date date,
    training_from date,
    training_through date,
    evaluation_from date,
    evaluation_through date,
    training_rows integer,
    training_positives integer,
    fitted_rows integer,
    evaluation_rows integer,
    evaluation_positives integer,
    scored_rows integer,
    top_features varchar,
    settings json
)"""


@dataclass(frozen=True)
class RiskConfig:
    """How the score is trained and when there is enough history to train it."""

    # Out-of-time evaluation: the last observed month ends are held out.
    evaluation_months: int = 1
    # Fewest observed month ends to train on, and delinquencies in them and in the evaluation.
    min_training_months: int = 2
    min_training_positives: int = 20
    min_evaluation_positives: int = 5
    # Risk bands on the calibrated probability.
    high_band: float = 0.5
    medium_band: float = 0.2
    calibration_folds: int = 3
    seed: int = 0
    # The score's cost must not grow with the business: at 10M payment attempts the history holds
    # about 6M month-end rows to learn from. Above these sizes the models are fitted on a seeded
    # uniform sample of the training rows (the delinquency rate, and so the calibration, stays the
    # full set's in expectation), and the feature importance is measured on a seeded sample of
    # the evaluation rows. Evaluation and scoring always use every row.
    max_fitted_rows: int = 250_000
    max_importance_rows: int = 10_000


@dataclass(frozen=True)
class Split:
    """Rows to train on, to evaluate on and to score, or why there are not enough."""

    train: pd.DataFrame
    evaluate: pd.DataFrame
    score: pd.DataFrame
    reason: str | None = None


@dataclass
class RiskReport:
    status: str  # scored | not_enough_history
    reason: str | None
    model_version: str
    scored_rows: int
    evaluation: dict[str, dict[str, float]]
    top_features: list[str]
    # The model's calibration on the evaluation rows: per decile of its probability, rows, mean
    # probability and observed rate.
    calibration: list[dict] = field(default_factory=list)


def load_features(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every feature row, with the subscription's MRR now (the weight of revenue at risk)."""
    return con.execute(
        """select features.*, subscriptions.mrr_reporting::double as mrr_reporting
        from marts.risk_features as features
        left join marts.dim_subscriptions as subscriptions using (subscription_id)
        order by features.scoring_date, features.subscription_id"""
    ).df()


def split(frame: pd.DataFrame, config: RiskConfig) -> Split:
    """Out of time, as it would have run: the last `evaluation_months` observed month ends are
    evaluated on, and the model only learns from month ends whose horizon had ended by the first
    of them (a label not yet known then would leak the evaluation period into training)."""
    empty = frame.iloc[0:0]
    score = frame[frame["is_as_of_date"]]
    observed = frame[frame["is_target_observed"] & ~frame["is_as_of_date"]]
    months = sorted(observed["scoring_date"].unique())
    need = config.min_training_months + config.evaluation_months
    if len(months) < need:
        return Split(
            empty,
            empty,
            score,
            f"{len(months)} month end(s) with an observed outcome; {need} are needed "
            f"({config.min_training_months} to train, {config.evaluation_months} to evaluate)",
        )
    evaluation_months = months[-config.evaluation_months :]
    evaluate = observed[observed["scoring_date"].isin(evaluation_months)]
    first_evaluated = pd.Timestamp(evaluation_months[0])
    train = observed[pd.to_datetime(observed["horizon_end_date"]) <= first_evaluated]
    train_months = train["scoring_date"].nunique()
    if train_months < config.min_training_months:
        return Split(
            empty,
            empty,
            score,
            f"{train_months} month end(s) whose outcome was known before the evaluation month; "
            f"{config.min_training_months} are needed",
        )
    positives, evaluated = int(train[TARGET].sum()), int(evaluate[TARGET].sum())
    if positives < config.min_training_positives:
        return Split(
            empty,
            empty,
            score,
            f"{positives} delinquencies to learn from; {config.min_training_positives} are needed",
        )
    if evaluated < config.min_evaluation_positives:
        return Split(
            empty,
            empty,
            score,
            f"{evaluated} delinquencies to evaluate on; {config.min_evaluation_positives} "
            "are needed",
        )
    return Split(train, evaluate, score)


def _at_most(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`frame` itself when it has at most `rows` rows, else a seeded uniform sample of `rows` of
    them in their original order."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed).sort_index()


def _design(frame: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """The feature columns: numbers as floats (null = missing), categories with the training
    set's levels (a level unseen in training becomes missing)."""
    x = frame[list(NUMERIC)].astype("float64")
    for name in CATEGORICAL:
        known = frame[name].where(frame[name].isin(categories[name]))
        x[name] = pd.Categorical(known, categories=categories[name])
    return x


def _gradient_boosting(config: RiskConfig) -> CalibratedClassifierCV:
    booster = HistGradientBoostingClassifier(
        categorical_features="from_dtype",
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=True,
        random_state=config.seed,
    )
    return CalibratedClassifierCV(booster, method="isotonic", cv=config.calibration_folds)


def _logistic_regression(config: RiskConfig):
    columns = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                ),
                list(NUMERIC),
            ),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="unknown"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                list(CATEGORICAL),
            ),
        ]
    )
    return make_pipeline(columns, LogisticRegression(max_iter=2000, C=1.0))


def _rule_probability(train: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """The rule as a probability: the training rate of delinquency among the rows it flags and
    among those it does not (so its Brier score and calibration are comparable)."""
    flagged_train = train["failed_attempts_90d"] > 0
    rates = train.groupby(flagged_train)[TARGET].mean()
    flagged = rows["failed_attempts_90d"] > 0
    return np.where(flagged, rates.get(True, 0.0), rates.get(False, 0.0)).astype(float)


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |predicted - observed| over `bins` equal-width probability bins, weighted by rows."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        inside = which == b
        error += inside.mean() * abs(p[inside].mean() - y[inside].mean())
    return float(error)


def top_decile_revenue_capture(
    y: np.ndarray, p: np.ndarray, revenue: np.ndarray, seed: int = 0
) -> float:
    """Share of the delinquent rows' revenue found in the top 10 % of scores. Ties (a rule's
    scores are mostly tied) are broken in a seeded random order, not by row order."""
    y, p = np.asarray(y, dtype=bool), np.asarray(p, dtype=float)
    revenue = np.nan_to_num(np.asarray(revenue, dtype=float))
    total = revenue[y].sum()
    if total == 0:
        return float("nan")
    tie_break = np.random.default_rng(seed).random(len(p))
    order = np.lexsort((tie_break, -p))
    top = order[: int(np.ceil(len(p) * 0.1))]
    return float(revenue[top][y[top]].sum() / total)


def evaluate(y, p, revenue, seed: int = 0) -> dict[str, float]:
    y = np.asarray(y, dtype=bool)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "top_decile_revenue_capture": top_decile_revenue_capture(y, p, revenue, seed),
    }


def calibration(y: np.ndarray, p: np.ndarray) -> list[dict]:
    """Per decile of the predicted probability: rows, mean probability, observed rate."""
    deciles = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
    frame = pd.DataFrame({"decile": deciles + 1, "p": p, "y": np.asarray(y, dtype=float)})
    grouped = frame.groupby("decile").agg(rows=("y", "size"), mean_probability=("p", "mean"),
                                          observed_rate=("y", "mean"))  # fmt: skip
    return grouped.reset_index().to_dict("records")


def reasons(model, x: pd.DataFrame, reference: dict[str, object], top: int = 3) -> list[list[str]]:
    """Each row's `top` reasons: the features whose replacement by their training median (or most
    common level) lowers its probability most. A feature that does not raise it is no reason."""
    base = model.predict_proba(x)[:, 1]
    lifts = np.zeros((len(x), len(FEATURES)))
    for j, name in enumerate(FEATURES):
        # A row already at the reference value would predict the same probability (lift 0):
        # only the others are predicted again (most rows of the sparse counts are skipped).
        if name in CATEGORICAL:
            changed = (x[name] != reference[name]).to_numpy() | x[name].isna().to_numpy()
        else:
            changed = ~(x[name].to_numpy() == reference[name])  # a missing value differs too
        if not changed.any():
            continue
        neutral = x[changed].copy()
        neutral[name] = (
            pd.Categorical([reference[name]] * len(neutral), categories=x[name].cat.categories)
            if name in CATEGORICAL
            else reference[name]
        )
        lifts[changed, j] = base[changed] - model.predict_proba(neutral)[:, 1]
    columns = {name: x[name].to_numpy(dtype=object) for name in FEATURES}
    ranked = np.argsort(-lifts, axis=1, kind="stable")[:, :top]
    return [
        [_reason_text(FEATURES[j], columns[FEATURES[j]][i]) for j in ranked[i] if lifts[i, j] > 0]
        for i in range(len(x))
    ]


def _reason_text(name: str, value) -> str:
    label = NUMERIC_LABELS.get(name) or CATEGORICAL_LABELS[name]
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if name in BOOLEAN:
        return f"{label}: {'unknown' if missing else ('yes' if value else 'no')}"
    if missing:
        return f"{label}: none"
    if isinstance(value, float):
        value = f"{value:.2f}" if name == "share_3ds_90d" else f"{value:g}"
    return f"{label}: {value}"


def model_version(frame: pd.DataFrame, config: RiskConfig) -> str:
    """Names the training: library, settings, features and the data's dates and size."""
    digest = hashlib.sha256(
        json.dumps(
            {
                "sklearn": sklearn.__version__,
                "config": asdict(config),
                "features": FEATURES,
                "dates": sorted(str(d) for d in frame["scoring_date"].unique()),
                "rows": len(frame),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:10]
    return f"hgb-isotonic-{digest}"


def train_and_score(
    frame: pd.DataFrame, config: RiskConfig = RiskConfig()
) -> tuple[RiskReport, pd.DataFrame, pd.DataFrame, dict]:
    """Train, evaluate and score. Returns the report, the score rows, the evaluation rows and the
    model row (tables of the same names)."""
    # One OpenMP thread: on a shared 2-core machine the boosting's thread pool spins against the
    # other processes (11 s vs 1.2 s to fit the sample), and one thread keeps results identical.
    with threadpool_limits(limits=1, user_api="openmp"):
        return _train_and_score(frame, config)


def _train_and_score(
    frame: pd.DataFrame, config: RiskConfig
) -> tuple[RiskReport, pd.DataFrame, pd.DataFrame, dict]:
    version = model_version(frame, config)
    parts = split(frame, config)
    as_of = frame.loc[frame["is_as_of_date"], "scoring_date"].max() if len(frame) else None
    model_row: dict = {
        "model_version": version,
        "as_of_date": None if pd.isna(as_of) else as_of,
        "settings": json.dumps(asdict(config)),
    }
    if parts.reason:
        report = RiskReport("not_enough_history", parts.reason, version, 0, {}, [])
        model_row |= {
            "status": report.status,
            "reason": f"Not enough history to score: {parts.reason}.",
        }
        return report, pd.DataFrame(), pd.DataFrame(), model_row

    train, held_out, to_score = parts.train, parts.evaluate, parts.score
    categories = {name: sorted(train[name].dropna().unique().tolist()) for name in CATEGORICAL}
    fitted = _at_most(train, config.max_fitted_rows, config.seed)
    x_train, y_train = _design(fitted, categories), fitted[TARGET].astype(bool).to_numpy()
    x_eval, y_eval = _design(held_out, categories), held_out[TARGET].astype(bool).to_numpy()

    booster = _gradient_boosting(config).fit(x_train, y_train)
    logistic = _logistic_regression(config).fit(fitted[list(FEATURES)], y_train)
    revenue = held_out["mrr_reporting"].to_numpy()
    predicted = booster.predict_proba(x_eval)[:, 1]
    evaluation = {
        "gradient_boosting": evaluate(y_eval, predicted, revenue, config.seed),
        "logistic_regression": evaluate(
            y_eval, logistic.predict_proba(held_out[list(FEATURES)])[:, 1], revenue, config.seed
        ),
        "rule_failed_payment_90d": evaluate(
            y_eval, _rule_probability(train, held_out), revenue, config.seed
        ),
    }
    evaluation_rows = pd.DataFrame(
        [
            {"model": name, **metrics, "evaluation_rows": len(held_out),
             "evaluation_positives": int(y_eval.sum()), "model_version": version}
            for name, metrics in evaluation.items()
        ]
    )  # fmt: skip

    reference = {name: float(np.nanmedian(train[name].astype("float64"))) for name in NUMERIC} | {
        name: train[name].mode().iloc[0] for name in CATEGORICAL
    }
    x_score = _design(to_score, categories)
    probability = booster.predict_proba(x_score)[:, 1] if len(to_score) else np.array([])
    why = reasons(booster, x_score, reference) if len(to_score) else []
    scores = pd.DataFrame(
        {
            "subscription_id": to_score["subscription_id"].to_numpy(),
            "customer_id": to_score["customer_id"].to_numpy(),
            "scoring_date": to_score["scoring_date"].to_numpy(),
            "probability": probability,
            "risk_band": np.select(
                [probability >= config.high_band, probability >= config.medium_band],
                ["high", "medium"],
                "low",
            ),
            "mrr_reporting": to_score["mrr_reporting"].to_numpy(),
            "expected_revenue_at_risk_reporting": (
                probability * to_score["mrr_reporting"].to_numpy()
            ).round(2),
            "reason_1": [r[0] if len(r) > 0 else None for r in why],
            "reason_2": [r[1] if len(r) > 1 else None for r in why],
            "reason_3": [r[2] if len(r) > 2 else None for r in why],
            "model_version": version,
        }
    )
    judged = _at_most(held_out, config.max_importance_rows, config.seed)
    y_judged = judged[TARGET].astype(bool).to_numpy()
    top = _top_features(booster, _design(judged, categories), y_judged, config)
    report = RiskReport(
        "scored", None, version, len(scores), evaluation, top, calibration(y_eval, predicted)
    )
    model_row |= {
        "status": "scored",
        "training_from": train["scoring_date"].min(),
        "training_through": train["scoring_date"].max(),
        "evaluation_from": held_out["scoring_date"].min(),
        "evaluation_through": held_out["scoring_date"].max(),
        "training_rows": len(train),
        "training_positives": int(train[TARGET].astype(bool).sum()),
        "fitted_rows": len(fitted),
        "evaluation_rows": len(held_out),
        "evaluation_positives": int(y_eval.sum()),
        "scored_rows": len(scores),
        "top_features": ", ".join(top),
    }
    return report, scores, evaluation_rows, model_row


def _top_features(model, x: pd.DataFrame, y: np.ndarray, config: RiskConfig) -> list[str]:
    """The five features whose shuffling costs the most ROC AUC on the evaluation rows."""
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        model, x, y, scoring="roc_auc", n_repeats=3, random_state=config.seed
    )
    order = np.argsort(-result.importances_mean, kind="stable")
    return [FEATURES[j] for j in order[:5]]


def write(con: duckdb.DuckDBPyConnection, scores, evaluation, model_row: dict) -> None:
    """Replace the three tables in one transaction (empty tables when nothing was scored)."""
    con.execute("begin")
    try:
        con.execute("create schema if not exists risk")
        for ddl in (SCORE_DDL, EVALUATION_DDL, MODEL_DDL):
            con.execute(ddl)
        if len(scores):
            con.register("risk_scores", scores)
            con.execute("insert into risk.subscription_scores by name select * from risk_scores")
            con.register("risk_evaluation", evaluation)
            con.execute(
                "insert into marts.subscription_risk_evaluation by name "
                "select * from risk_evaluation"
            )
        model = pd.DataFrame([model_row])
        con.register("risk_model", model)
        con.execute("insert into marts.subscription_risk_model by name select * from risk_model")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def run(con: duckdb.DuckDBPyConnection, config: RiskConfig = RiskConfig()) -> RiskReport:
    """Train on the warehouse behind `con`, score its as-of date and write the tables."""
    report, scores, evaluation, model_row = train_and_score(load_features(con), config)
    write(con, scores, evaluation, model_row)
    return report
