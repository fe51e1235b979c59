"""``flask`` commands for admin work."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from hazard_reporter.accounts import services as account_services
from hazard_reporter.accounts.models import Role
from hazard_reporter.core.csvfile import csv_text
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import current_storage
from hazard_reporter.demo import load_demo_data
from hazard_reporter.errors import HazardError, StorageUnavailable
from hazard_reporter.extensions import db
from hazard_reporter.photos import services as photo_services
from hazard_reporter.photos.tasks import make_derivatives_task
from hazard_reporter.regions import services as region_services
from hazard_reporter.units import services as unit_services


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the reference and demo data (regions of 绵阳市, demo units). Safe to run again."""
    regions, units = load_demo_data(db.session)
    click.echo(f"seeded {regions} regions and {units} units")


ROLE_CHOICE = click.Choice([r.value for r in Role])


def _fail(error: HazardError):
    raise click.ClickException(error.message("en")) from error


@click.command("create-user")
@click.argument("phone")
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default=None)
@click.option("--region", "regions", multiple=True, help="Region code of the scope (repeatable).")
@click.option("--sector", "sectors", multiple=True, help="Sector key of the scope (repeatable).")
@click.option("--unit", "unit_id", type=int, default=None, help="Unit id, for unit_staff.")
@with_appcontext
def create_user_command(phone, role, password, name, regions, sectors, unit_id):
    """Create an account (inspectors with --region/--sector, unit staff with --unit)."""
    try:
        user = account_services.create_user(
            db.session,
            phone=phone,
            password=password,
            role=Role(role),
            name=name,
            regions=list(regions),
            sectors=list(sectors),
            unit_id=unit_id,
            now=utcnow(),
        )
    except HazardError as error:
        _fail(error)
    click.echo(f"created user {user.id} ({user.role})")


@click.command("set-role")
@click.argument("phone")
@click.argument("role", type=ROLE_CHOICE)
@with_appcontext
def set_role_command(phone, role):
    """Change a user's role (their sign-ins end)."""
    try:
        user = account_services.find_user(db.session, phone=phone)
        account_services.update_user(db.session, user, role=role, now=utcnow())
    except HazardError as error:
        _fail(error)
    click.echo(f"user {user.id} is now {role}")


@click.command("disable-user")
@click.argument("phone")
@click.option("--enable", is_flag=True, help="Enable the account again instead.")
@with_appcontext
def disable_user_command(phone, enable):
    """Disable an account (every sign-in ends at once), or enable it again."""
    try:
        user = account_services.find_user(db.session, phone=phone)
        account_services.update_user(db.session, user, active=enable, now=utcnow())
    except HazardError as error:
        _fail(error)
    click.echo(f"user {user.id} {'enabled' if enable else 'disabled'}")


regions_cli = AppGroup("regions", help="Region reference data.")


@regions_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
def import_regions(csv_file):
    """Create or update regions from CSV: code,name_zh,name_en,level,parent_code."""
    try:
        text = csv_text(csv_file.read())
        result = region_services.import_regions_csv(db.session, text)
    except HazardError as error:
        _fail(error)
    click.echo(
        f"imported {result.imported} region(s): {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


@regions_cli.command("import-boundaries")
@click.argument("geojson", type=click.File("r", encoding="utf-8"))
def import_boundaries(geojson):
    """Load WGS-84 boundaries from a GeoJSON FeatureCollection (properties.code = region code)."""
    try:
        codes = region_services.import_boundaries(db.session, json.load(geojson))
    except (ValueError, json.JSONDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"boundaries loaded for {len(codes)} region(s): {', '.join(codes)}")


units_cli = AppGroup("units", help="Responsible units.")
routing_cli = AppGroup("routing", help="Routing rules (region, sector → unit).")
triage_cli = AppGroup("triage", help="Triage rules.")


@units_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
def import_units(csv_file):
    """Create or update units from CSV: slug,name_zh,name_en,region_code,sectors,channels."""
    try:
        count = unit_services.import_units_csv(db.session, csv_text(csv_file.read()))
    except HazardError as error:
        _fail(error)
    click.echo(f"imported {count} unit(s)")


@routing_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
def import_rules(csv_file):
    """Create or replace routing rules from CSV: region_code,sector,unit_slug."""
    try:
        count = unit_services.import_rules_csv(db.session, csv_text(csv_file.read()))
    except HazardError as error:
        _fail(error)
    click.echo(f"imported {count} rule(s)")


@triage_cli.command("check")
@click.argument("rules_file", type=click.Path(exists=True, dir_okay=False))
def check_rules(rules_file):
    """Validate a triage rules file before pointing HAZARD_TRIAGE_RULES_FILE at it."""
    from hazard_reporter.triage.engine import RulesError, load_rules

    try:
        load_rules(Path(rules_file))
    except RulesError as error:
        raise click.ClickException(str(error)) from error
    click.echo("rules OK")


@click.command("escalate")
@click.option(
    "--loop", type=click.IntRange(min=0), default=0, help="Run again every N seconds (0: once)."
)
@with_appcontext
def escalate_command(loop):
    """Escalate overdue reports to the parent region, once per missed deadline."""
    from hazard_reporter.inspection.services import escalate_overdue
    from hazard_reporter.reports.deadlines import DeadlinePolicy

    while True:
        count = escalate_overdue(
            db.session, now=utcnow(), policy=DeadlinePolicy.from_config(current_app.config)
        )
        click.echo(f"escalated {count} report(s)")
        if not loop:
            break
        time.sleep(loop)


@click.command("background")
@click.option(
    "--loop", type=click.IntRange(min=0), default=0, help="Run again every N seconds (0: once)."
)
@with_appcontext
def background_command(loop):
    """Run the jobs of the serving processes' background loop, for HAZARD_BACKGROUND_SECONDS=0
    without Celery: the duty report, due deliveries, escalation, missing renditions and unclaimed
    direct uploads. One run does them all; with --loop the uploads sweep runs once every
    HAZARD_UPLOAD_SWEEP_SECONDS, the others every N seconds."""
    from hazard_reporter.core import background

    config = current_app.config
    seconds = float(config.get("BACKGROUND_SECONDS") or 0)
    if config["TASK_RUNNER"] != "inline":
        runs = "Celery's beat already runs these jobs" + (
            "" if seconds > 0 else ", all but due deliveries (HAZARD_BACKGROUND_SECONDS is 0)"
        )
    else:
        runs = "the serving processes' loop already runs these jobs" if seconds > 0 else ""
    if runs:
        click.echo(f"note: {runs}; running them here too is harmless but wasted work", err=True)
    app = current_app._get_current_object()
    while True:
        succeeded = background.run_once(app)
        click.echo(
            ", ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok in succeeded.items())
        )
        if not loop:
            if not all(succeeded.values()):
                raise click.ClickException("a background job failed; the log says why")
            break
        time.sleep(loop)


photos_cli = AppGroup("photos", help="Photo storage maintenance.")


@photos_cli.command("cleanup-orphans")
@click.option(
    "--older-than",
    type=int,
    default=None,
    help="Only files at least this many seconds old (default HAZARD_ORPHAN_GRACE_SECONDS).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def cleanup_orphans(older_than, dry_run):
    """Remove stored files that no report refers to (left by a crash or a failed submission)."""
    grace = current_app.config["ORPHAN_GRACE_SECONDS"] if older_than is None else older_than
    storage = current_storage()
    orphans = photo_services.find_orphans(
        db.session,
        storage,
        older_than=utcnow() - timedelta(seconds=grace),
        uploads_older_than=utcnow() - timedelta(hours=current_app.config["UPLOAD_KEEP_HOURS"]),
    )
    found = failed = 0
    for key in orphans:
        found += 1
        click.echo(f"{'would remove' if dry_run else 'removing'} {key}")
        if not dry_run:
            try:
                storage.delete(key)
            except (OSError, ValueError, StorageUnavailable) as error:
                failed += 1
                click.echo(f"could not remove {key}: {error}", err=True)
    done = found - failed
    click.echo(f"{done} orphaned file(s){' found' if dry_run else ' removed'}")
    if failed:
        raise click.ClickException(f"{failed} file(s) could not be removed; run again later")


@photos_cli.command("process-pending")
def process_pending():
    """Make the renditions of every photo still waiting for them."""
    ids = photo_services.pending_photo_ids(db.session)
    with click.progressbar(ids, label=f"{len(ids)} photo(s)") as bar:
        for photo_id in bar:
            make_derivatives_task(photo_id)
    click.echo("done")
