"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, redirect

from config import Config
from hazard_reporter.core.auth import register_auth
from hazard_reporter.core.db import configure_database
from hazard_reporter.core.formparser import UploadFormParser
from hazard_reporter.core.http_errors import register_error_handlers
from hazard_reporter.core.security import register_security
from hazard_reporter.core.storage import create_storage
from hazard_reporter.core.tasks import create_runner, current_storage, register_services
from hazard_reporter.extensions import api, db, limiter, migrate
from hazard_reporter.reports.deadlines import DeadlinePolicy

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class HazardRequest(Request):
    """Uploaded files are spooled straight into the photo storage's incoming files: hashed on
    the way in, written to the disk (fsync, in a background thread) as soon as the body is in,
    and on local disk later kept by a rename instead of a copy. The body is read in larger pieces
    than Werkzeug's default (``core/formparser.py``)."""

    form_data_parser_class = UploadFormParser

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ):
        from hazard_reporter.photos.services import incoming_photo_file

        stream = incoming_photo_file(current_storage())
        # Kept here too: a part whose upload breaks off never reaches ``files``.
        self.__dict__.setdefault("_incoming_files", []).append(stream)
        return stream

    def _load_form_data(self) -> None:
        super()._load_form_data()
        # The body is in: its photos start going to the disk while the request is checked.
        for stream in self.__dict__.get("_incoming_files", ()):
            stream.sync_soon()

    def close(self) -> None:
        """Close the files, removing the incoming ones no backend kept."""
        try:
            super().close()
        finally:
            for stream in self.__dict__.get("_incoming_files", ()):
                stream.close()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``HAZARD_*`` environment variables, then ``config``."""
    app = Flask(__name__)
    app.request_class = HazardRequest
    # Chinese stays readable in answers and the fields keep the schema's order.
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    register_config(app, config)
    register_security(app)
    register_extensions(app)
    register_auth(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_services(app, create_storage(app.config), create_runner(app))
    register_triage(app)
    register_commands(app)
    return app


def register_config(app: Flask, config: Mapping[str, Any] | None) -> None:
    app.config.from_object(Config)
    app.config.from_prefixed_env("HAZARD")
    if config:
        app.config.from_mapping(config)
    # The whole request may carry the maximum number of maximum-size photos, plus form fields.
    # (Flask's own default is None, "no limit", so setdefault would never apply.)
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = (
            app.config["MAX_PHOTOS"] * app.config["MAX_PHOTO_BYTES"] + 2**20
        )
    try:  # a wrong deadline setting would otherwise break every forwarding, or be ignored
        DeadlinePolicy.from_config(app.config)
    except ValueError as error:
        raise SystemExit(f"hazard_reporter: refusing to start: {error}") from None
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask) -> None:
    configure_database(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    api.init_app(app)
    limiter.init_app(app)


def register_blueprints(app: Flask) -> None:
    # Models must be imported before the first query so every relationship resolves.
    from hazard_reporter.accounts.routes import auth, users
    from hazard_reporter.awards import models as _awards  # noqa: F401
    from hazard_reporter.awards.routes import blp as awards
    from hazard_reporter.core.health import blp as health
    from hazard_reporter.deliveries import models as _deliveries  # noqa: F401
    from hazard_reporter.deliveries.routes import blp as deliveries
    from hazard_reporter.duplicates.routes import blp as duplicates
    from hazard_reporter.duty import models as _duty  # noqa: F401
    from hazard_reporter.inspection.routes import inspect, unit_desk
    from hazard_reporter.integrations.routes import blp as integrations
    from hazard_reporter.maps.routes import blp as maps
    from hazard_reporter.open311.routes import open311
    from hazard_reporter.pages import pages
    from hazard_reporter.photos import models as _photos  # noqa: F401
    from hazard_reporter.photos.routes import blp as photos
    from hazard_reporter.photos.routes import uploads
    from hazard_reporter.regions.routes import blp as regions
    from hazard_reporter.reports.routes import blp as reports
    from hazard_reporter.sectors.routes import blp as sectors
    from hazard_reporter.units.routes import blp as units

    for blueprint in (
        reports,
        photos,
        uploads,
        health,
        sectors,
        regions,
        auth,
        users,
        inspect,
        unit_desk,
        units,
        deliveries,
        awards,
        duplicates,
        maps,
        integrations,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(open311)  # Open311 has its own formats: a plain Flask blueprint
    app.register_blueprint(pages)  # the worker's web pages: /report, /status

    @app.get("/")
    def index():
        return redirect("/api/v1/docs")


def register_triage(app: Flask) -> None:
    from hazard_reporter.triage.engine import default_rules, load_rules

    path = app.config.get("TRIAGE_RULES_FILE")
    app.extensions["hazard_triage_rules"] = load_rules(Path(path)) if path else default_rules()


def register_commands(app: Flask) -> None:
    from hazard_reporter.awards.cli import awards_cli
    from hazard_reporter.cli import (
        background_command,
        create_user_command,
        disable_user_command,
        escalate_command,
        photos_cli,
        regions_cli,
        routing_cli,
        seed_command,
        set_role_command,
        triage_cli,
        units_cli,
    )
    from hazard_reporter.deliveries.cli import deliveries_cli
    from hazard_reporter.duty.cli import duty_report_command

    for command in (
        seed_command,
        create_user_command,
        set_role_command,
        disable_user_command,
        escalate_command,
        background_command,
        duty_report_command,
        regions_cli,
        photos_cli,
        units_cli,
        routing_cli,
        triage_cli,
        deliveries_cli,
        awards_cli,
    ):
        app.cli.add_command(command)
