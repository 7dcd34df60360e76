"""The heatmap grid holds every retry exactly once, and agrees with retry_performance."""

from orchestration.publish import open_published


def test_heatmap_cells_partition_the_retries(sample_settings):
    with open_published(sample_settings.published_path) as con:
        retries, succeeded = con.execute(
            "select count(*), count(*) filter (where is_success) from marts.fct_payment_attempts "
            "where invoice_id is not null and is_retry"
        ).fetchone()
        cells = con.execute(
            "select sum(attempts), sum(successes), min(attempt_number) from marts.retry_heatmap"
        ).fetchone()
        by_wait = con.execute(
            "select dimension_value, attempts from marts.retry_performance "
            "where dimension = 'hours_since_previous_attempt' order by 1"
        ).fetchall()
        heat_by_wait = con.execute(
            "select hours_since_previous_attempt, sum(attempts)::integer from marts.retry_heatmap "
            "group by 1 order by 1"
        ).fetchall()
    assert retries > 50
    assert cells == (retries, succeeded, 2)
    assert heat_by_wait == by_wait
