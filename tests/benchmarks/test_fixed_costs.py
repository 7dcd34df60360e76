"""The fixed-costs script on the session's sample home: the figures it reads from the Dagster
run are consistent, and its table renders (the timed imports and dbt calls run in `make bench`
territory, not here)."""

from benchmarks.fixed_costs import markdown, step_overhead


def test_step_overhead_is_the_run_wall_time_minus_its_steps(sample_settings):
    figures = step_overhead(sample_settings.home)
    assert figures["steps"] >= 10  # connectors, ingestion, checks, dbt, alerts, publish
    assert 0 < figures["dbt_step"] < figures["steps_sum"] <= figures["run_wall"]
    assert figures["between_steps"] == figures["run_wall"] - figures["steps_sum"]

    text = markdown(figures, sample_settings.home, (1.0, 1.5))
    assert "| last run: between_steps |" not in text  # named by the caller, not here
    assert f"| between_steps | {figures['between_steps']:.2f} |" in text
    assert "load average 1.0 before and 1.5 after" in text
