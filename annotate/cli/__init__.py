"""The ``annotate`` command line: a thin layer that parses options, calls one service and prints.

Command modules import only click at module level; services (and with them pandas, scipy and
SQLAlchemy) are imported inside the commands, so ``annotate --help`` starts fast.
"""

from annotate.cli.main import main

__all__ = ["main"]
