"""/api/v1/deliveries: the outbox as inspectors and admins see it, and retrying a dead item."""

from __future__ import annotations

from hazard_reporter.accounts.models import Role
from hazard_reporter.core.api import HazardBlueprint
from hazard_reporter.core.auth import current_principal, requires
from hazard_reporter.core.db import utcnow
from hazard_reporter.core.tasks import current_runner
from hazard_reporter.deliveries import services
from hazard_reporter.deliveries.schemas import (
    MAX_ID,
    DeliveryPageSchema,
    DeliveryQuerySchema,
    DeliverySchema,
)
from hazard_reporter.deliveries.tasks import send_deliveries_task
from hazard_reporter.extensions import db

blp = HazardBlueprint(
    "deliveries", __name__, url_prefix="/api/v1/deliveries", description="消息投递 Deliveries"
)


@blp.route("")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema)
@requires(Role.INSPECTOR, Role.ADMIN)
def list_deliveries(query):
    """Deliveries, newest first (inspectors: those of reports in their scope)."""
    filters = services.DeliveryFilters(
        status=query.get("status"), report_id=query.get("report_id"), unit_id=query.get("unit_id")
    )
    items, next_cursor = services.list_deliveries(
        db.session,
        filters,
        actor=current_principal(),
        limit=query["limit"],
        cursor=query.get("cursor"),
    )
    return {"items": items, "next_cursor": next_cursor}


@blp.route(f"/<int(max={MAX_ID}):delivery_id>")
@blp.response(200, DeliverySchema)
@requires(Role.INSPECTOR, Role.ADMIN)
def get_delivery(delivery_id):
    """One delivery: its status, attempts and last error."""
    return services.get_delivery(db.session, delivery_id, actor=current_principal())


@blp.route(f"/<int(max={MAX_ID}):delivery_id>/retry", methods=["POST"])
@blp.response(200, DeliverySchema)
@blp.alt_response(409, description="The delivery is not dead")
@requires(Role.INSPECTOR, Role.ADMIN)
def retry_delivery(delivery_id):
    """Put a dead delivery back in the queue and attempt it at once."""
    delivery = services.retry_dead(db.session, delivery_id, utcnow(), actor=current_principal())
    current_runner().enqueue(send_deliveries_task, delivery.id)
    db.session.refresh(delivery)
    return delivery
