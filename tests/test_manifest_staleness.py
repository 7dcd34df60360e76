"""The saved dbt manifest is re-parsed when the project's files change, deletions included."""

import os

from orchestration.defs.transform import project


def test_deleting_a_file_makes_the_inputs_newer(tmp_path, monkeypatch):
    monkeypatch.setattr(project, "DBT_PROJECT_DIR", tmp_path)
    tests = tmp_path / "tests"
    tests.mkdir()
    kept, deleted = tests / "kept.sql", tests / "deleted.sql"
    kept.write_text("select 1")
    deleted.write_text("select 1")
    for path in (kept, deleted, tests):
        os.utime(path, (1_000, 1_000))
    assert project._newest_input_mtime() == 1_000
    # A manifest parsed at 2,000 lists deleted.sql; removing it stamps only its folder.
    deleted.unlink()
    assert project._newest_input_mtime() > 2_000
