"""Every SQL example of docs/analyst_guide.md runs on the golden warehouse and answers sensibly,
so the guide never rots."""

import re
from datetime import date
from decimal import Decimal

import pytest
import yaml

from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT

GUIDE = REPO_ROOT / "docs" / "analyst_guide.md"


def _examples() -> list[tuple[str, str]]:
    text = GUIDE.read_text()
    found = []
    for match in re.finditer(r"^### (.+?)\n(.*?)^```sql\n(.*?)^```", text, re.S | re.M):
        found.append((match.group(1).strip(), match.group(3)))
    return found


EXAMPLES = _examples()


def test_the_guide_has_its_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("question, sql", EXAMPLES, ids=[q for q, _ in EXAMPLES])
def test_example_runs_and_returns_rows(golden_warehouse, question, sql):
    assert golden_warehouse.query(sql), question


def test_worst_cohort_answer(golden_warehouse):
    sql = dict(EXAMPLES)[
        "Which cohort recovered worst, and through which channel did its money come back?"
    ]
    rows = golden_warehouse.query(sql)
    # February (2 of 5 within 60 days) is the worst elapsed cohort; collections and a reminder
    # each brought one back, the payment plan took longer than the window.
    assert [r[:3] for r in rows] == [
        (date(2026, 2, 1), Decimal("0.400000"), "collections"),
        (date(2026, 2, 1), Decimal("0.400000"), "reminder"),
        (date(2026, 2, 1), Decimal("0.400000"), "payment_plan"),
    ]


def test_metrics_named_in_the_guide_exist():
    semantic = yaml.safe_load(
        (DBT_PROJECT_DIR / "models/semantic/_semantic_models.yml").read_text()
    )
    metrics = {m["name"] for m in semantic["metrics"]}
    metrics |= {
        measure["name"]
        for model in semantic["semantic_models"]
        for measure in model["measures"]
        if measure.get("create_metric")
    }
    named = set(re.findall(r"--metrics ([\w,]+)", GUIDE.read_text()))
    assert {m for group in named for m in group.split(",")} <= metrics
