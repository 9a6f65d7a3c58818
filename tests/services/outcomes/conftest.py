"""Fixtures shared by the outcome tests (defined beside the summaries tests that introduced them)."""

from tests.services.outcomes.test_summaries import r3, rated  # noqa: F401  (fixtures)
