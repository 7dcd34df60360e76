"""The contract's documentation and its consumers stay in step with orchestration/contract.py."""

from orchestration.config import REPO_ROOT
from orchestration.contract import ENTITIES, ENTITY_BY_NAME, contract_markdown, rules


def test_contract_doc_is_generated_from_the_contract():
    doc = (REPO_ROOT / "docs" / "data_contract.md").read_text()
    assert doc.strip() == contract_markdown().strip(), (
        "run: arrears contract > docs/data_contract.md"
    )


def test_every_entity_has_its_key_and_updated_at_and_unique_columns():
    for entity in ENTITIES:
        names = entity.column_names
        assert len(names) == len(set(names)), entity.name
        assert entity.key == names[0] and entity.column(entity.key).required
        assert (
            entity.column("updated_at").required and entity.column("updated_at").type == "TIMESTAMP"
        )
        for column in entity.columns:
            if column.references:
                parent, key = column.references.split(".")
                assert parent in {e.name for e in ENTITIES} and key == column.name
                # The parent's key has the column's name: ingestion and the checks join on it.
                assert column.parent == parent and ENTITY_BY_NAME[parent].key == key


def test_parents_are_the_other_entities_referenced():
    assert ENTITY_BY_NAME["customers"].parents == ()
    assert ENTITY_BY_NAME["invoices"].parents == ("customers", "subscriptions")
    assert ENTITY_BY_NAME["disputes"].parents == ("customers", "payment_attempts")
    assert ENTITY_BY_NAME["invoices"].column("subscription_id").parent == "subscriptions"
    assert ENTITY_BY_NAME["invoices"].column("amount_due").parent is None


def test_the_rules_of_a_refund_written_out():
    """Ingestion and the raw checks both judge these (one list): refunds have a required id,
    parents, amount, currency, time, status and updated_at; an amount; two closed sets besides
    the currency; two timestamps; no record rule of their own."""
    names = [(r.name, r.check) for r in rules(ENTITY_BY_NAME["refunds"], now="now()")]
    assert names == [
        ("missing_refund_id", "values"),
        ("missing_attempt_id", "values"),
        ("missing_customer_id", "values"),
        ("missing_amount", "values"),
        ("negative_amount", "ranges"),
        ("missing_currency", "values"),
        ("unknown_currency", "values"),
        ("missing_refunded_at", "values"),
        ("refunded_at_out_of_range", "ranges"),
        ("unknown_reason", "values"),
        ("missing_status", "values"),
        ("unknown_status", "values"),
        ("missing_updated_at", "values"),
        ("updated_at_out_of_range", "ranges"),
        ("updated_in_future", "ranges"),
    ]
    future = rules(ENTITY_BY_NAME["refunds"], now="timestamp '2026-03-01'")[-1]
    assert future.predicate() == "updated_at > timestamp '2026-03-01' + interval 86400 seconds"
