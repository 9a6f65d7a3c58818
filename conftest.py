"""Repository-level pytest setup: scripts that run on import are not collected for doctests."""

collect_ignore = ["annotate/db/migrations", "annotate/ui/main.py", "app.py"]
