"""Arrow record batches of a SELECT, read by ADBC's SQLite or PostgreSQL driver.

Why: reading a million rows through SQLAlchemy builds a Python row object per row (~4 s and
hundreds of MB at a million ratings); Apache Arrow's ADBC drivers (maintained libraries; the
PostgreSQL one reads with binary ``COPY``) hand over typed columns in batches instead. The
ratings CSV/Parquet export and the family scores read their statements through here when the
database is a SQLite file or PostgreSQL and the driver is installed; callers fall back to
SQLAlchemy otherwise. The connection is a second one: a caller must commit what it wrote first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
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
