"""The contract's documentation and its consumers stay in step with orchestration/contract.py."""

from orchestration.config import REPO_ROOT
from orchestration.contract import ENTITIES, contract_markdown


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
