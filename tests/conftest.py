"""Shared fixtures: one sample warehouse built through the real pipeline, once per session."""

from pathlib import Path

import pytest

from orchestration.config import Settings, load_settings
from tests.sample import SAMPLE


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory) -> Settings:
    """Settings of a temp home whose warehouse was generated, built by Dagster and published."""
    from orchestration.generator import GeneratorConfig, generate
    from orchestration.pipeline import build

    home = tmp_path_factory.mktemp("sample_home")
    settings = load_settings({"ARREARS_HOME": str(home)})
    generate(
        GeneratorConfig(**SAMPLE),
        settings.landing_dir,
        ground_truth_path=home / "ground_truth.json",
    )
    assert build(settings), "the sample build failed; see the log above"
    return settings


@pytest.fixture(scope="session")
def ground_truth_path(sample_settings) -> Path:
    return sample_settings.home / "ground_truth.json"
