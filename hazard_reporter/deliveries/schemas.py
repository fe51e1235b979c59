"""Delivery requests and answers at the HTTP boundary (the channel's target is never shown)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hazard_reporter.deliveries.models import DeliveryStatus

MAX_ID = 2**31 - 1


class DeliveryQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))
    report_id = ma.fields.Integer(validate=validate.Range(1, MAX_ID))
    unit_id = ma.fields.Integer(validate=validate.Range(1, MAX_ID))
    cursor = ma.fields.String(validate=validate.Length(max=100))
    limit = ma.fields.Integer(load_default=20, validate=validate.Range(1, 100))


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    idempotency_id = ma.fields.String(
        metadata={"description": "Sent with every attempt (X-Hazard-Delivery); receivers dedupe"}
    )
    kind = ma.fields.String(metadata={"example": "report.forwarded"})
    report_id = ma.fields.Integer(allow_none=True)
    unit_id = ma.fields.Integer(allow_none=True)
    channel = ma.fields.String(
        metadata={"description": "webhook | email | wecom | dingtalk | link"}
    )
    status = ma.fields.String(
        metadata={"description": "pending | sent | dead | handover | skipped"}
    )
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)


class DeliveryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliverySchema))
    next_cursor = ma.fields.String(allow_none=True)
