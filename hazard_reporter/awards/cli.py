"""``flask awards export``: the award list as a file, with progress for long lists;
``flask awards refresh-credits``: every stored credit computed again."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from hazard_reporter.awards import credits, exports, services
from hazard_reporter.core.db import utcnow
from hazard_reporter.errors import HazardError
from hazard_reporter.extensions import db
from hazard_reporter.regions.models import Region

awards_cli = AppGroup("awards", help="Award lists.")


@awards_cli.command("export")
@click.option(
    "--period", type=click.Choice(["month", "quarter", "year", "custom"]), default="month"
)
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="A day in the period.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="custom: first day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="custom: last day.")
@click.option("--region", default=None, help="Region code (its whole subtree).")
@click.option("--sector", default=None)
@click.option("--campaign", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "pdf"]), default="xlsx")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True)
def export_command(period, on, start, end, region, sector, campaign, fmt, output):
    """Write the ranked award list to OUTPUT as CSV, XLSX or PDF."""
    tz = current_app.config["LOCAL_TIMEZONE"]
    day: date = on.date() if on else datetime.now(ZoneInfo(tz)).date()
    try:
        first, last = services.period_bounds(
            period, day, start.date() if start else None, end.date() if end else None
        )
        filters = services.AwardFilters(first, last, region, sector, campaign)
        click.echo(f"collecting the award list for {first} – {last} …")
        rows = services.award_rows(db.session, filters, tz=tz)
    except HazardError as error:
        raise click.ClickException(error.message("en")) from error
    region_name = db.session.get(Region, region).name_zh if region else "全部地区"
    meta = exports.ExportMeta(
        title="隐患随手拍 表彰名单",
        period=f"{first} 至 {last}",
        region=region_name,
        generated_at=utcnow(),
    )
    with click.progressbar(rows, label=f"writing {len(rows)} row(s)") as bar:
        if fmt == "csv":
            with open(output, "wb") as out:
                for chunk in exports.csv_chunks(bar, meta):
                    out.write(chunk)
        else:
            data = exports.xlsx_bytes(bar, meta) if fmt == "xlsx" else exports.list_pdf(bar, meta)
            with open(output, "wb") as out:
                out.write(data)
    click.echo(f"wrote {output}")


@awards_cli.command("refresh-credits")
def refresh_credits_command():
    """Compute every verified hazard's stored credit again (once, after an upgrade to the release
    with migration 0010 when older processes kept serving while it ran)."""
    click.echo("computing the stored award credits again …")
    updated = credits.recompute_all(db.session.connection())
    db.session.commit()
    click.echo(f"{updated} report(s) computed")
