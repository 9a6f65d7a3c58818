"""The ``annotate`` command group. Thin: parse options, call one service, print.

Commands act as the machine's owner (no login), except where ``--as`` names the acting user,
so the audit log says who did what. Subcommands live in their own modules and are loaded by
name when used (:class:`LazyGroup`), so ``annotate --help`` imports only click.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from annotate.errors import AnnotateError

# command name -> "module:attribute" (modules under annotate.cli)
COMMANDS = {
    "init": "setup:init",
    "demo": "setup:demo_cmd",
    "serve": "setup:serve",
    "users": "users:users_group",
    "audit": "audit:audit_group",
    "study": "studies:study_group",
    "participants": "studies:participants_group",
    "correct": "studies:correct_cmd",
    "ingest": "films:ingest",
    "recordings": "films:recordings_cmd",
    "assign": "assign:assign",
    "queue": "queue:queue_cmd",
    "export": "exports:export_cmd",
    "import": "data:import_group",
    "elan": "data:elan_group",
    "backup": "data:backup_cmd",
    "restore": "data:restore_cmd",
    "stats": "stats:stats",
    "worker": "jobs:worker",
    "jobs": "jobs:jobs_group",
    "store": "jobs:store_group",
    "films": "jobs:films_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (the pattern of click's documentation),
    and which turns any :class:`annotate.errors.AnnotateError` into a message and exit code 1
    instead of a traceback."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(f"annotate.cli.{module}"), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"annotate.cli.{module}:{attr} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AnnotateError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.version_option(package_name="annotate")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug) to standard error.")
def main(verbose: int) -> None:
    """annotate: blinded rating of parent–infant interaction films.

    The database and media store come from ANNOTATE_DATABASE_URL and ANNOTATE_MEDIA_DIR
    (default: ./annotate-data/). See README.md.
    """
    from annotate.logs import configure_logging

    configure_logging(logging.WARNING - 10 * verbose)
