"""Arrears orchestration: configuration, the billing data contract, ingestion and the Dagster code location."""
