"""Test configuration: array-API checks on, and a printed, replayable random seed."""

import os

# check_array_api_input is skipped unless this is set before scipy/sklearn are imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SEED = int(os.environ.get("SKRNN_TEST_SEED", "0"))


def pytest_report_header(config):
    return f"skrnn test seed: {SEED} (replay with SKRNN_TEST_SEED={SEED})"


@pytest.fixture
def rng():
    """A NumPy Generator seeded from SKRNN_TEST_SEED (default 0)."""
    return np.random.default_rng(SEED)
