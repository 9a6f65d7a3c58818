"""Arrow record batches of a SELECT, read by ADBC's SQLite or PostgreSQL driver.

Why: reading a million rows through SQLAlchemy builds a Python row object per row (~4 s and
hundreds of MB at a million ratings); Apache Arrow's ADBC drivers (maintained libraries; the
PostgreSQL one reads with binary ``COPY``) hand over typed columns in batches instead. The
ratings CSV/Parquet export and the family scores read their statements through here when the
database is a SQLite file or PostgreSQL and the driver is installed; callers fall back to
SQLAlchemy otherwise. The connection is a second one: a caller must commit what it wrote first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.sql.expression import ClauseElement

BATCH_ROWS = 32_768


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL, or None (another database, or one in memory).

    Examples
    --------
    >>> sqlite_file("sqlite:////data/annotate.db"), sqlite_file("sqlite://"), sqlite_file("postgresql://h/db")
    (PosixPath('/data/annotate.db'), None, None)
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def postgres_uri(database_url: str) -> str | None:
    """The libpq URI of a PostgreSQL URL (any SQLAlchemy driver), or None for another database.

    Examples
    --------
    >>> postgres_uri("postgresql+psycopg://postgres@127.0.0.1:5432/test"), postgres_uri("sqlite://")
    ('postgresql://postgres@127.0.0.1:5432/test', None)
    """
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def available(database_url: str) -> bool:
    """Whether the columnar writer can serve this database (a SQLite file or PostgreSQL, driver installed)."""
    try:
        if sqlite_file(database_url) is not None:
            import adbc_driver_sqlite.dbapi  # noqa: F401
        elif postgres_uri(database_url) is not None:
            import adbc_driver_postgresql.dbapi  # noqa: F401
        else:
            return False
    except ImportError:
        return False
    return True


def _dialect(database_url: str) -> Dialect:
    return sqlite.dialect() if sqlite_file(database_url) is not None else postgresql.psycopg.dialect()


def sql_text(database_url: str, statement: ClauseElement) -> str:
    """``statement`` as SQL text for an ADBC connection to ``database_url`` (its values inlined:
    use it for statements whose bound values are integers and our own constants)."""
    compiled = statement.compile(dialect=_dialect(database_url), compile_kwargs={"literal_binds": True})
    return str(compiled)


def record_batches(database_url: str, sql: str) -> Iterator[pa.RecordBatch]:
    """The rows of ``sql`` (text from :func:`sql_text`) as record batches; read-only."""
    path = sqlite_file(database_url)
    if path is not None:
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        # A read-only URI (quoted: a folder may hold spaces, '?' or '#').
        with adbc_sqlite.connect(f"file:{quote(str(path.resolve()))}?mode=ro") as conn, conn.cursor() as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            cursor.execute(sql)
            yield from cursor.fetch_record_batch()
        return
    uri = postgres_uri(database_url)
    if uri is None:
        raise ValueError("the columnar reader reads SQLite files and PostgreSQL only")
    import adbc_driver_postgresql.dbapi as adbc_postgresql

    with adbc_postgresql.connect(uri) as conn, conn.cursor() as cursor:
        cursor.execute(sql)  # binary COPY of the query, in batches of a few MB
        yield from cursor.fetch_record_batch()


def utc_naive(values: pa.Array) -> pa.Array:
    """Stored times as naive UTC microsecond timestamps: PostgreSQL sends them typed, SQLite as the
    text SQLAlchemy wrote (``2026-01-31 10:00:00.123456``; other ISO forms are parsed one by one).

    Examples
    --------
    >>> utc_naive(pa.array(["2026-01-31 10:00:00.123456", None])).to_pylist()
    [datetime.datetime(2026, 1, 31, 10, 0, 0, 123456), None]
    """
    if pa.types.is_timestamp(values.type):  # PostgreSQL: typed already (Arrow keeps tz-aware ones in UTC)
        return pc.cast(values, pa.timestamp("us", values.type.tz)).cast(pa.timestamp("us"))
    text = pc.cast(values, pa.string())
    plain = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$"
    if pc.all(pc.or_kleene(pc.is_null(text), pc.match_substring_regex(text, plain))).as_py() is not False:
        return pc.cast(pc.replace_substring(text, " ", "T", max_replacements=1), pa.timestamp("us"))
    parsed = [None if v is None else dt.datetime.fromisoformat(v) for v in text.to_pylist()]
    return pa.array(
        [None if t is None or t.tzinfo is None else t.astimezone(dt.UTC).replace(tzinfo=None) for t in parsed]
        if any(t is not None and t.tzinfo is not None for t in parsed)
        else parsed,
        pa.timestamp("us"),
    )
