"""A build run in which a step never ran is not reported as a successful build: Dagster skips a
step whose input was never produced and still calls the run a success (a real in-process run)."""

import dagster as dg

from orchestration.pipeline import report_run


@dg.asset(output_required=False)
def marts():
    # Produces nothing, as a dbt step whose events were lost does.
    return
    yield


@dg.asset
def published(marts):
    return marts


@dg.asset
def standalone():
    return 1


def test_a_run_with_a_skipped_step_is_not_a_successful_build(capsys):
    result = dg.materialize([marts, published, standalone], raise_on_error=False)
    assert result.success  # Dagster's own verdict
    assert report_run(result) is False
    assert "steps skipped (their inputs never arrived): published" in capsys.readouterr().out


def test_a_run_that_did_everything_is_a_successful_build(capsys):
    result = dg.materialize([standalone], raise_on_error=False)
    assert report_run(result) is True
    assert capsys.readouterr().out == ""
