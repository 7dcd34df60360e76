"""Data quality for Arrears: Great Expectations suites over frames computed in DuckDB.

Importing this package is cheap on purpose: Great Expectations (~10 s to import) is only loaded
by `data_quality.runner` when checks actually run, so the CLI and the dashboard never pay for it.
"""
