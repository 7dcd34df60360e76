"""The Dagster code location: everything under `orchestration/defs/`, one folder per domain, and
the one `Settings` value its assets, checks and sensors receive (as the resource `settings`)."""

from pathlib import Path

import dagster as dg

from orchestration.config import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for these settings (`arrears build` passes its own)."""
    from orchestration.defs.transform.project import prepare_manifest

    prepare_manifest(settings)  # the dbt assets are built from the manifest when the folder loads
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # A plain value, not a ConfigurableResource: its fields (paths, secrets) are not run
        # config to edit or show in the UI; assets ask for it as `dg.ResourceParam[Settings]`.
        dg.Definitions(resources={"settings": settings}),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """`dg dev` (`make dev`): the settings are read from the environment once, here."""
    return build_definitions(load_settings())
