"""``annotate queue``: a rater's queue in the order the rater sees it, for audits of the blinding."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from annotate.cli.common import acting_user, current_settings, unit_of_work


@click.command("queue")
@click.option("--study", "study_key", required=True, help="Study key.")
@click.option("--rater", required=True, help="The rater whose queue to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per item, in queue order.")
@click.option("--as", "as_user", default=None, help="Act as this user (their rights apply; default: the owner).")
def queue_cmd(study_key: str, rater: str, as_json: bool, as_user: str | None) -> None:
    """Show RATER's queue of STUDY in the order the rater sees it, with arm and time point
    (researchers and admins only). Fields: position (1 = first), status (open | done), film_code,
    segment_index (1 = the film's first segment), arm, timepoint, purpose."""
    from annotate.services import assignments

    with unit_of_work(current_settings()) as session:
        rows = assignments.queue_of(session, acting_user(session, as_user), study_key, rater)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(
            f"{r.position:>4}  {r.status:<4}  {r.film_code}  segment {r.segment_index}  {r.arm}  {r.timepoint}  {r.purpose}"
        )
