"""Migration 0006 turns the absolute media paths of older versions into store keys."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from annotate.db import make_engine
from annotate.db.engine import alembic_config, head_revision


def test_paths_become_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0004_feedback_sessions")
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(text("PRAGMA foreign_keys=OFF"))
        c.execute(
            text(
                "INSERT INTO scheme (id, key, version, title, yaml_text, sha256, created_at)"
                " VALUES (1, 'k', '1', 't', 'y', 'h', '2024-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO study (id, key, title, status, segment_seconds, scheme_id, settings, created_at)"
                " VALUES (1, 'S', 'S', 'setup', 60, 1, '{}', '2024-01-01')"
            )
        )
        c.execute(
            text(
                "INSERT INTO recording (id, study_id, purpose, blind_code, original_name, original_path, proxy_path,"
                " thumbs_dir, status, created_at) VALUES (1, 1, 'assessment', 'ABC', 'x.mov',"
                " '/home/old machine/annotate-data/media/originals/aa.mov', '/home/old machine/annotate-data/media/proxies/bb.mp4',"
                " '/home/old machine/annotate-data/media/thumbs/bb', 'ready', '2024-01-01'),"
                " (2, 1, 'assessment', 'DEF', 'y.mov', NULL, NULL, NULL, 'failed', '2024-01-01')"
            )
        )
    command.upgrade(cfg, "head")
    with engine.connect() as c:
        rows = c.execute(text("SELECT original_path, proxy_path, thumbs_dir FROM recording ORDER BY id")).all()
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert c.execute(text("SELECT count(*) FROM job")).scalar() == 0
    assert [tuple(r) for r in rows] == [("originals/aa.mov", "proxies/bb.mp4", "thumbs/bb"), (None, None, None)]
    engine.dispose()
