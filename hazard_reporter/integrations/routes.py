"""/api/v1/integrations/webhooks: admins subscribe integrators to events."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import select

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import requires
from hazard_reporter.errors import NotFound
from hazard_reporter.extensions import db
from hazard_reporter.integrations.models import IntegrationHook
from hazard_reporter.integrations.services import EVENTS

blp = HazardBlueprint(
    "integrations", __name__, url_prefix="/api/v1/integrations", description="集成 Integrations"
)


class HookSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret = ma.fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=16, max=200),
        metadata={"description": "HMAC-SHA256 key for X-Hazard-Signature"},
    )
    events = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(EVENTS)),
        metadata={"description": "Empty: every event"},
    )
    active = ma.fields.Boolean()


@blp.route("/webhooks")
@blp.response(200, HookSchema(many=True))
@requires(Role.ADMIN)
def list_hooks():
    """Event webhooks (secrets are never shown)."""
    return list(db.session.scalars(select(IntegrationHook).order_by(IntegrationHook.id)))


@blp.route("/webhooks", methods=["POST"])
@blp.arguments(HookSchema)
@blp.response(201, HookSchema)
@requires(Role.ADMIN)
def create_hook(body):
    """Subscribe an integrator's endpoint to events, signed with its secret."""
    hook = IntegrationHook(**{"events": [], "active": True, **body})
    db.session.add(hook)
    db.session.commit()
    return hook


@blp.route("/webhooks/<int(max=2147483647):hook_id>", methods=["DELETE"])
@blp.response(204)
@requires(Role.ADMIN)
def delete_hook(hook_id):
    """Stop sending events to an endpoint (already queued ones are still delivered)."""
    hook = db.session.get(IntegrationHook, hook_id)
    if hook is None:
        raise NotFound(what="该订阅", what_en="webhook")
    db.session.delete(hook)
    db.session.commit()
