"""`annotate init`, `demo` and `serve`: set up a machine and run the app."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from annotate.cli.common import current_settings, progress_bar, unit_of_work


@click.command()
def init() -> None:
    """Create (or upgrade) the database and the media folder."""
    s = current_settings()
    s.media_dir.mkdir(parents=True, exist_ok=True)
    with unit_of_work(s):
        pass
    click.echo(f"Database ready: {s.database_url}\nMedia store: {s.media_dir}")


@click.command("demo")
def demo_cmd() -> None:
    """Create the demo study from sample_media/ with demo users, and print their logins."""
    from annotate.services import demo

    s = current_settings()
    with unit_of_work(s) as session, progress_bar("Preparing demo films") as progress:
        result = demo.create_demo(session, s, progress)
    click.echo(
        "Demo studies DEMO (scores) and DEMO-EVENTS (event coding) "
        + ("created" if result.created else "already exist")
        + "."
    )
    if result.created:
        click.echo(f"Films ready: {result.films_ready}, refused: {result.films_failed}")
    click.echo("Logins (demo only — change them for real use):")
    for username, password, role in result.logins:
        click.echo(f"  {role:<11} {username:<11} {password}")


@click.command()
@click.option("--port", default=8501, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Use 0.0.0.0 to serve other machines (put it behind HTTPS).",
)
@click.option("--demo", is_flag=True, help="Serve although demo accounts (published passwords) are active.")
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also run a job worker (ingest, clip packages, backups); --no-worker when workers run elsewhere.",
)
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Jobs at once.")
def serve(port: int, address: str, demo: bool, worker: bool, concurrency: int) -> None:
    """Run the web app (and, unless --no-worker, a job worker beside it)."""
    from annotate.config import REPO_ROOT
    from annotate.services import accounts

    app = REPO_ROOT / "app.py"
    if not app.exists():
        raise click.ClickException(f"{app} not found: serve runs from a checkout (pip install -e .).")
    with unit_of_work(current_settings()) as session:  # also migrates before the first page load
        demo_accounts = accounts.active_demo_accounts(session)
    if demo_accounts and not demo:
        names = ", ".join(demo_accounts)
        raise click.ClickException(
            f"Demo accounts are active ({names}) and their passwords are published in the README. "
            f"For real use deactivate each with `annotate users deactivate NAME` (or give it a new password "
            f"with `annotate users passwd NAME`); to run the demo, use `annotate serve --demo` (what `make run` does)."
        )
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
    ]
    click.echo(f"annotate on http://{address}:{port}")
    helper = None
    if worker:
        wcmd = [sys.executable, "-m", "annotate", "worker", "--concurrency", str(concurrency)]
        helper = subprocess.Popen(wcmd, env=os.environ.copy())
    try:
        code = subprocess.call(cmd, env=os.environ.copy())
    finally:
        if helper is not None:
            helper.terminate()  # SIGTERM: Huey stops; a job cut short is taken up again by the next worker
            try:
                helper.wait(timeout=20)
            except subprocess.TimeoutExpired:
                helper.kill()
    raise SystemExit(code)
