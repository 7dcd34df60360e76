"""The generated sample every pipeline-level test shares (see conftest.sample_settings)."""

# Small enough for CI, big enough that every ageing bucket, channel and incident type appears.
SAMPLE = {"customers": 300, "months": 6, "seed": 11}
