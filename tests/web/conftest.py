import pytest

from tests.services.conftest import study  # noqa: F401  (re-export the fixture)


@pytest.fixture
def env(settings, monkeypatch):
    """Point get_settings() (used by routes and pages) at the test database."""
    monkeypatch.setenv("ANNOTATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ANNOTATE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ANNOTATE_SECRET_KEY", "test-secret")
    monkeypatch.setenv("ANNOTATE_SCHEMES_DIR", str(settings.schemes_dir))
    return settings
