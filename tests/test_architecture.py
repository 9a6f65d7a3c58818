"""The layering rules of DESIGN.md, checked on the source: imports flow ui/cli/web -> services ->
stats, media, db, schemes; only annotate/ui imports streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "annotate"

# For each layer: module prefixes it must not import.
FORBIDDEN = {
    "stats": ["annotate.db", "annotate.services", "annotate.ui", "annotate.web", "annotate.cli", "annotate.media", "sqlalchemy", "streamlit"],
    "media": ["annotate.db", "annotate.services", "annotate.ui", "annotate.web", "annotate.cli", "annotate.stats", "sqlalchemy", "streamlit"],
    "db": ["annotate.services", "annotate.ui", "annotate.web", "annotate.cli", "annotate.stats", "annotate.media", "streamlit"],
    "schemes": ["annotate.db", "annotate.services", "annotate.ui", "annotate.web", "annotate.cli", "sqlalchemy", "streamlit"],
    "services": ["annotate.ui", "annotate.web", "annotate.cli", "streamlit"],
    "web": ["annotate.ui", "annotate.db", "streamlit"],
    "ui": ["annotate.db", "annotate.web", "annotate.cli", "sqlalchemy"],
    "cli": ["annotate.db", "annotate.ui", "annotate.web", "streamlit", "sqlalchemy"],
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    name = rel.parts[0]
    if name.endswith(".py"):
        name = name[:-3]
    if name.startswith("cli"):
        return "cli"
    return name


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def is_type_checking_only(path: Path, lineno: int) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            if any(getattr(n, "lineno", -1) == lineno for b in node.body for n in ast.walk(b)):
                return True
    return False


SOURCES = sorted(p for p in PKG.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_layer_imports(path: Path):
    layer = layer_of(path)
    banned = FORBIDDEN.get(layer, [])
    bad = [
        f"line {line}: {mod}"
        for line, mod in imports_of(path)
        if any(mod == b or mod.startswith(b + ".") for b in banned) and not is_type_checking_only(path, line)
    ]
    assert not bad, f"{path.relative_to(PKG)} ({layer} layer) imports what it may not: {bad}"


def test_rules_cover_every_layer():
    layers = {layer_of(p) for p in SOURCES} - {"__init__", "__main__", "config"}
    assert layers <= set(FORBIDDEN), layers - set(FORBIDDEN)


def test_only_ui_imports_streamlit():
    offenders = [
        str(p.relative_to(PKG))
        for p in SOURCES
        if layer_of(p) != "ui" and any(m.split(".")[0] == "streamlit" for _, m in imports_of(p))
    ]
    assert not offenders
