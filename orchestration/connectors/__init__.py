"""Connectors: real billing sources (Stripe objects, ELT-synced Stripe tables, mapped CSV
exports) mapped onto the Arrears contract and written into the landing folder."""

from orchestration.connectors.run import KINDS, ImportResult, run_import
from orchestration.connectors.stripe_objects import map_stripe_objects

__all__ = ["KINDS", "ImportResult", "map_stripe_objects", "run_import"]
