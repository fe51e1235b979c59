"""``flask deliveries …``: run the outbox worker, list and retry deliveries."""

from __future__ import annotations

import logging
import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from hazard_reporter.core.db import utcnow
from hazard_reporter.deliveries import services
from hazard_reporter.deliveries.models import Delivery, DeliveryStatus
from hazard_reporter.deliveries.tasks import process_deliveries_task
from hazard_reporter.errors import HazardError
from hazard_reporter.extensions import db

log = logging.getLogger(__name__)

deliveries_cli = AppGroup("deliveries", help="The delivery outbox (units and inspectors).")


@deliveries_cli.command("run")
@click.option(
    "--loop",
    "interval",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Keep going, checking for due deliveries every SECONDS (Ctrl-C to stop).",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, help="Batch size.")
def run_command(interval, limit):
    """Send the deliveries that are due, once (or forever with --loop: a pass that fails, the
    database away for a moment, is logged and the loop goes on)."""
    try:
        while True:
            try:
                result = process_deliveries_task(limit=limit)
            except Exception:
                if interval is None:
                    raise
                log.exception("deliveries: the pass failed; trying again in %s s", interval)
                time.sleep(interval)
                continue
            if result.attempted or result.skipped or interval is None:
                click.echo(
                    f"sent {result.sent}, retried {result.retried}, dead {result.dead}, "
                    f"to hand over {result.handover}, skipped {result.skipped}"
                )
            if interval is None:
                return
            if result.attempted + result.skipped < limit:  # a full batch: more may be due
                time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("stopped")


@deliveries_cli.command("list")
@click.option("--status", type=click.Choice([s.value for s in DeliveryStatus]), default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
def list_command(status, limit):
    """List deliveries, newest first (e.g. --status dead)."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if status:
        query = query.where(Delivery.status == status)
    rows = list(db.session.scalars(query))
    for d in rows:
        click.echo(
            f"{d.id}\t{d.status}\t{d.channel}\t{d.kind}\treport={d.report_id}\tunit={d.unit_id}"
            f"\tattempts={d.attempts}\tnext={d.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
            f"\t{d.last_error or ''}"
        )
    click.echo(f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'}")


@deliveries_cli.command("retry")
@click.argument("delivery_ids", nargs=-1, type=int, required=True)
def retry_command(delivery_ids):
    """Put dead deliveries back in the queue (the next run sends them)."""
    for delivery_id in delivery_ids:
        try:
            services.retry_dead(db.session, delivery_id, utcnow())
        except HazardError as error:
            raise click.ClickException(f"{delivery_id}: {error.message('en')}") from error
        click.echo(f"delivery {delivery_id} is pending again")
