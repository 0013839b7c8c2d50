"""Flask commands: seed-demo, processes deploy, timers. `--now` sets the application clock for one command."""
import time
from datetime import datetime

import click
import orjson
from flask import Flask, current_app

from app.calendar import clock
from app.domain import demo
from app.engine import audit
from app.engine.definitions import DefinitionError
from app.mail import send_all_pending


def _set_now(_ctx, _param, value: str | None):
    if value:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise click.BadParameter("give an offset, e.g. 2026-12-01T00:00:00+08:00")
        clock.set(moment)
    return value


now_option = click.option("--now", callback=_set_now, expose_value=False, is_eager=True,
                          help="ISO 8601 time with offset to use as 'now'.")


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @now_option
    def seed_demo():
        """Create the demo organisation, users (password 'demo'), customers and a few open cases."""
        created = demo.seed(clock.now(), current_app.extensions["accounts"].hash_password)
        click.echo(f"demo data: {created}")
        _deploy(current_app.config["PROCESSES_DIR"])
        cases = demo.seed_cases(current_app.extensions["engine"])
        click.echo(f"demo cases filed: {cases}")

    @app.cli.group("processes")
    def processes():
        """Process definitions."""

    @processes.command("deploy")
    @click.option("--dir", "directory", default=None, help="Directory of .bpmn files (default: processes/).")
    @now_option
    def deploy(directory):
        """Deploy changed BPMN files as new versions; unchanged files create nothing."""
        _deploy(directory or current_app.config["PROCESSES_DIR"])


    @app.cli.group("timers")
    def timers():
        """Wake-ups of waiting timer events."""

    @timers.command("fire-due")
    @now_option
    def fire_due():
        """Fire every timer due now and send the notification e-mails waiting (one pass, for cron,
        scripts and tests)."""
        fired = 0
        while current_app.extensions["engine"].timers.fire_next_due():
            fired += 1
        sent = send_all_pending()
        click.echo(f"fired {fired} timer(s), sent {sent} e-mail(s)")

    @timers.command("run")
    @click.option("--poll", default=30.0, show_default=True, help="Longest sleep in seconds.")
    def run(poll):
        """Keep firing timers as they fall due, and send notification e-mails (when SMTP is set up);
        several workers may run at once."""
        timers = current_app.extensions["engine"].timers
        if current_app.config["SMTP_HOST"]:
            poll = min(poll, MAIL_POLL_SECONDS)  # e-mail goes out within seconds, not at the next timer
        click.echo("timer worker running")
        while True:
            while timers.fire_next_due():
                pass
            send_all_pending()
            next_due = timers.next_due_at()
            wait = poll if next_due is None else (next_due - clock.now()).total_seconds()
            time.sleep(min(max(wait, 0.05), poll))


MAIL_POLL_SECONDS = 5.0


def register_audit(app: Flask) -> None:
    @app.cli.group("audit")
    def audit_group():
        """The audit trail's hash chains."""

    @audit_group.command("verify")
    def verify():
        """Walk every case's chain and every checkpoint; exit 1 naming what was altered, removed or inserted."""
        findings = audit.verify()
        for finding in findings:
            click.echo(f"NOT INTACT: {finding}", err=True)
        if findings:
            raise SystemExit(1)
        click.echo("audit trail intact")

    @audit_group.command("checkpoint")
    @now_option
    def checkpoint():
        """Seal every case chain's current head (run it from cron, e.g. hourly)."""
        try:
            sealed = audit.checkpoint(clock.now())
        except audit.CheckpointRace as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"checkpoint {sealed.id}: {len(sealed.heads)} case chains, {sealed.hash}")

    @audit_group.command("export")
    @click.option("--since", default=None, help="ISO 8601 date-time with offset (inclusive).")
    @click.option("--until", default=None, help="ISO 8601 date-time with offset (exclusive).")
    def export(since, until):
        """The audit trail of a period as JSON Lines on standard output, hashes included
        (check it with tools/verify_audit.py)."""
        bounds = [datetime.fromisoformat(value) if value else None for value in (since, until)]
        for row in audit.export_rows(*bounds):
            click.echo(orjson.dumps(row, option=orjson.OPT_SORT_KEYS).decode())


def _deploy(directory: str) -> None:
    try:
        created = current_app.extensions["engine"].deployment.deploy_directory(directory)
    except DefinitionError as exc:
        raise click.ClickException(str(exc)) from exc
    for definition in created:
        click.echo(f"deployed {definition.key} version {definition.version}")
    if not created:
        click.echo("process definitions are up to date")
