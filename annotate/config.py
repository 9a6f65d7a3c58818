"""Settings from the environment: one place for every default.

Environment variables
---------------------
ANNOTATE_DATA_DIR       folder for the default database, media store and secret key
                        (default: ``./annotate-data`` under the current directory)
ANNOTATE_DATABASE_URL   SQLAlchemy URL (default: SQLite file ``<data dir>/annotate.db``)
ANNOTATE_MEDIA_DIR      media store (default: ``<data dir>/media``)
ANNOTATE_SECRET_KEY     key that signs session cookies and media tokens
                        (default: a random key kept in ``<data dir>/secret.key``)
ANNOTATE_SESSION_HOURS  how long a login lasts (default 12)
ANNOTATE_MEDIA_TOKEN_MINUTES  how long a media URL stays valid (default 240)
ANNOTATE_SCHEMES_DIR    folder of rating-scheme YAML files (default: the shipped ``rating_schemes/``)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one process.

    Examples
    --------
    >>> s = Settings.from_env({"ANNOTATE_DATA_DIR": "/tmp/x"})
    >>> s.database_url
    'sqlite:////tmp/x/annotate.db'
    >>> s.media_dir.as_posix()
    '/tmp/x/media'
    """

    data_dir: Path
    database_url: str
    media_dir: Path
    secret_key_value: str | None
    session_hours: float
    media_token_minutes: float
    schemes_dir: Path
    sample_media_dir: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("ANNOTATE_DATA_DIR") or Path.cwd() / "annotate-data").resolve()
        db_url = env.get("ANNOTATE_DATABASE_URL") or f"sqlite:///{data_dir / 'annotate.db'}"
        media_dir = Path(env.get("ANNOTATE_MEDIA_DIR") or data_dir / "media").resolve()
        return cls(
            data_dir=data_dir,
            database_url=db_url,
            media_dir=media_dir,
            secret_key_value=env.get("ANNOTATE_SECRET_KEY") or None,
            session_hours=_positive_float(env, "ANNOTATE_SESSION_HOURS", 12.0),
            media_token_minutes=_positive_float(env, "ANNOTATE_MEDIA_TOKEN_MINUTES", 240.0),
            schemes_dir=Path(env.get("ANNOTATE_SCHEMES_DIR") or REPO_ROOT / "rating_schemes"),
            sample_media_dir=REPO_ROOT / "sample_media",
        )

    def secret_key(self) -> bytes:
        """The signing key: from the environment, else a random key kept in the data folder."""
        if self.secret_key_value:
            return self.secret_key_value.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once must not write two different keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_text().strip().encode()
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


def _positive_float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of hours/minutes, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def get_settings() -> Settings:
    """Settings of this process, read from the environment each call (cheap; tests change env)."""
    return Settings.from_env()
