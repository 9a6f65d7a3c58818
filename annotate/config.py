"""Settings from the environment: one place for every default.

Environment variables
---------------------
ANNOTATE_DATA_DIR       folder for the default database, media store and secret key
                        (default: ``./annotate-data`` under the current directory)
ANNOTATE_DATABASE_URL   SQLAlchemy URL (default: SQLite file ``<data dir>/annotate.db``)
ANNOTATE_MEDIA_DIR      media store (default: ``<data dir>/media``)
ANNOTATE_SECRET_KEY     key that signs session cookies and media tokens
                        (default: a random key kept in ``<data dir>/secret.key``)
ANNOTATE_SESSION_HOURS  how long a login lasts at most (absolute lifetime, default 12)
ANNOTATE_SESSION_IDLE_MINUTES  a login ends after this long without a request (default 30)
ANNOTATE_LOCKOUT_ATTEMPTS  failed logins in a row that lock an account (default 5)
ANNOTATE_LOCKOUT_MINUTES   how long a lock lasts unless an admin unlocks it (default 15)
ANNOTATE_MEDIA_TOKEN_MINUTES  how long a media URL stays valid (default 240)
ANNOTATE_SCHEMES_DIR    folder of rating-scheme YAML files (default: the shipped ``rating_schemes/``)
ANNOTATE_MEDIA_URL      media store: ``s3://bucket/prefix`` for S3-compatible object storage (credentials
                        from the standard AWS variables); unset = the local folder ANNOTATE_MEDIA_DIR
ANNOTATE_S3_ENDPOINT    endpoint of the S3-compatible service (e.g. ``http://127.0.0.1:9000``)
ANNOTATE_JOBS_URL       job broker: ``redis://host:port/db`` shared by several machines; unset = the
                        embedded queue (a SQLite file ``<data dir>/jobs.huey``)
ANNOTATE_JOBS_QUEUE     name of the queue on that broker (default ``annotate``): deployments sharing one
                        Redis each need their own
ANNOTATE_JOB_LEASE_SECONDS  how long a running job may go without a heartbeat before it is taken as
                        dead and retried (default 60)
ANNOTATE_ENCODER_THREADS    encoder threads per job (default: cores / worker concurrency)
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
    session_idle_minutes: float = 30.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    media_url: str | None = None
    s3_endpoint: str | None = None
    jobs_url: str | None = None
    jobs_queue: str = "annotate"
    job_lease_seconds: float = 60.0
    encoder_threads: int | None = None
    totp_required_roles: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
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
            session_idle_minutes=_positive_float(env, "ANNOTATE_SESSION_IDLE_MINUTES", 30.0),
            lockout_attempts=max(1, int(_positive_float(env, "ANNOTATE_LOCKOUT_ATTEMPTS", 5))),
            lockout_minutes=_positive_float(env, "ANNOTATE_LOCKOUT_MINUTES", 15.0),
            media_url=env.get("ANNOTATE_MEDIA_URL") or None,
            s3_endpoint=env.get("ANNOTATE_S3_ENDPOINT") or None,
            jobs_url=env.get("ANNOTATE_JOBS_URL") or None,
            jobs_queue=env.get("ANNOTATE_JOBS_QUEUE") or "annotate",
            job_lease_seconds=_positive_float(env, "ANNOTATE_JOB_LEASE_SECONDS", 60.0),
            encoder_threads=int(env["ANNOTATE_ENCODER_THREADS"]) if env.get("ANNOTATE_ENCODER_THREADS") else None,
            totp_required_roles=frozenset(
                r.strip().lower() for r in (env.get("ANNOTATE_TOTP_REQUIRED_ROLES") or "").split(",") if r.strip()
            ),
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
