"""/api/v1/units and /api/v1/routing-rules: administration and CSV import."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import CSV_BODY, HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.core.csvfile import csv_body
from hazard_reporter.extensions import db
from hazard_reporter.reports.models import RoutingRule
from hazard_reporter.units import services
from hazard_reporter.units.models import Unit
from hazard_reporter.units.schemas import (
    ImportResultSchema,
    PublicUnitSchema,
    RuleSchema,
    UnitSchema,
    UnitUpdateSchema,
)

blp = HazardBlueprint("units", __name__, url_prefix="/api/v1", description="责任单位 Units")
MAX_ID = 2**31 - 1


@blp.route("/units")
@blp.response(200, UnitSchema(many=True))
@requires(Role.INSPECTOR, Role.ADMIN)
def list_units():
    """Units; admins also see their delivery channels."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    if current_principal().role is not Role.ADMIN:
        return PublicUnitSchema(many=True).dump(units)
    return units


@blp.route("/units", methods=["POST"])
@blp.arguments(UnitSchema)
@blp.response(201, UnitSchema)
@requires(Role.ADMIN)
def create_unit(body):
    """Create a unit."""
    return services.save_unit(db.session, None, body)


@blp.route(f"/units/<int(max={MAX_ID}):unit_id>", methods=["PATCH"])
@blp.arguments(UnitUpdateSchema(partial=True))
@blp.response(200, UnitSchema)
@requires(Role.ADMIN)
def update_unit(body, unit_id):
    """Change a unit's name, region, sectors or channels."""
    return services.save_unit(db.session, services.get_unit(db.session, unit_id), body)


@blp.route("/units/import", methods=["POST"])
@blp.response(200, ImportResultSchema)
@blp.doc(requestBody=CSV_BODY)
@requires(Role.ADMIN)
def import_units():
    """Create or update units from CSV: slug,name_zh,name_en,region_code,sectors,channels."""
    return {"imported": services.import_units_csv(db.session, csv_body(request))}


@blp.route("/routing-rules")
@blp.response(200, RuleSchema(many=True))
@requires(Role.INSPECTOR, Role.ADMIN)
def list_rules():
    """Explicit routing rules (region, sector → unit)."""
    return list(db.session.scalars(select(RoutingRule).order_by(RoutingRule.id)))


@blp.route("/routing-rules", methods=["POST"])
@blp.arguments(RuleSchema)
@blp.response(201, RuleSchema)
@requires(Role.ADMIN)
def save_rule(body):
    """Create or replace the rule for (region, sector)."""
    return services.save_rule(db.session, **body)


@blp.route("/routing-rules/import", methods=["POST"])
@blp.response(200, ImportResultSchema)
@blp.doc(requestBody=CSV_BODY)
@requires(Role.ADMIN)
def import_rules():
    """Create or replace routing rules from CSV: region_code,sector,unit_slug."""
    return {"imported": services.import_rules_csv(db.session, csv_body(request))}
