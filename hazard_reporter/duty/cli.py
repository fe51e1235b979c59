"""``flask duty-report``: the daily duty report (值班日报) as text, JSON or PDF."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext

from hazard_reporter.core.pdf import FontMissing
from hazard_reporter.duty import report as duty
from hazard_reporter.duty.services import duty_reports
from hazard_reporter.errors import HazardError
from hazard_reporter.extensions import db


@click.command("duty-report")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day whose window closes at 15:30, YYYY-MM-DD (default: today in Asia/Shanghai).",
)
@click.option(
    "--region",
    "region_code",
    default=None,
    metavar="CODE",
    help="One region (its whole subtree); default: each province and each of its cities.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "pdf"]), default="text", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to FILE (required for pdf; text and json go to stdout otherwise).",
)
@with_appcontext
def duty_report_command(
    day: datetime | None, region_code: str | None, fmt: str, output: Path | None
) -> None:
    """Make the daily duty report for the window closing 15:30 Asia/Shanghai."""
    if fmt == "pdf" and output is None:
        raise click.UsageError("--output FILE is required with --format pdf.")
    on = day.date() if day else datetime.now(ZoneInfo(duty.DUTY_TZ)).date()
    try:
        reports = duty_reports(db.session, day=on, region_code=region_code, tz=duty.DUTY_TZ)
    except HazardError as error:
        raise click.ClickException(error.message("en")) from error

    if fmt == "pdf" and output is not None:  # checked above: pdf always has an output
        try:
            output.write_bytes(duty.as_pdf(reports))
        except FontMissing as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"wrote the duty report of {len(reports)} region(s) to {output}")
        return
    if fmt == "json":
        body = json.dumps([duty.as_json(r) for r in reports], ensure_ascii=False, indent=2)
    else:
        body = "\n\n".join(duty.as_text(r) for r in reports)
    if output is None:
        click.echo(body)
    else:
        output.write_text(body + "\n", encoding="utf-8")
        click.echo(f"wrote the duty report of {len(reports)} region(s) to {output}")
