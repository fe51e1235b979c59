"""The durable outbox: enqueue deliveries with the caller's transaction, send them later, retry
with back-off, and give up (dead-letter) only after many attempts over a long window (by default at
least 12 attempts and 72 hours, so that a unit's system down for a day or a weekend still gets
every message when it is back). Each delivery about a report that reaches its unit, or is given up
on, is written to the report's timeline.

Delivery is at least once: a worker that dies between sending and committing leaves the item
pending, and it is sent again; receivers dedupe on the idempotency id sent with every attempt.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hazard_reporter.accounts.models import Role
from hazard_reporter.accounts.principal import Principal
from hazard_reporter.core.pagination import decode_id_cursor, encode_id_cursor
from hazard_reporter.deliveries.channels import (
    DeliveryFailed,
    NobodyToSend,
    Outgoing,
    build_senders,
    recipients,
)
from hazard_reporter.deliveries.models import Channel, Delivery, DeliveryStatus
from hazard_reporter.errors import DeliveryNotDead, NotFound
from hazard_reporter.reports import access
from hazard_reporter.reports.models import Event, Report, Status
from hazard_reporter.reports.workflow import UNIT_HOLDS
from hazard_reporter.units.models import Unit

log = logging.getLogger(__name__)

# Keys that would say who reported: a payload carrying any of them, at any depth, is refused.
REPORTER_KEYS = frozenset(
    {
        "reporter",
        "reporter_id",
        "reporter_name",
        "reporter_phone",
        "anonymous",
        "followup_token",
        "followup_token_hash",
        "phone",
        "devices",
        "identity_url",
        "original_url",
        "idempotency_key",
        "request_fingerprint",
    }
)

SendFunc = Callable[[Delivery], None]
OUTBOX_ACTOR = "system"


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a delivery is retried."""

    base_seconds: float = 30
    cap_seconds: float = 3600
    max_attempts: int = 12
    # Dead only once both are spent: attempts alone (full jitter, a one-hour cap) would give up
    # after about 2½ hours on average, within an ordinary outage.
    retry_seconds: float = 72 * 3600
    # A claimed item is left alone this long; a worker that died mid-send frees it this way.
    lease_seconds: float = 300

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """The policy from the app's ``DELIVERY_*`` keys."""
        return cls(
            base_seconds=float(config.get("DELIVERY_BACKOFF_SECONDS", cls.base_seconds)),
            cap_seconds=float(config.get("DELIVERY_BACKOFF_CAP_SECONDS", cls.cap_seconds)),
            max_attempts=int(config.get("DELIVERY_MAX_ATTEMPTS", cls.max_attempts)),
            retry_seconds=float(config.get("DELIVERY_RETRY_HOURS", cls.retry_seconds / 3600))
            * 3600,
            lease_seconds=float(config.get("DELIVERY_LEASE_SECONDS", cls.lease_seconds)),
        )


def backoff_seconds(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential back-off with full jitter: uniform in [0, min(cap, base·2^(attempts−1))]."""
    ceiling = min(cap, base * 2 ** max(0, min(attempts - 1, 62)))
    return rng.uniform(0, ceiling)


# --- enqueue ---------------------------------------------------------------------------------


def check_payload(payload: Any, path: str = "payload") -> None:
    """Refuse a payload that carries anything about the reporter (units must never see it)."""
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            if str(key).lower() in REPORTER_KEYS:
                raise ValueError(f"{path}.{key} would tell who reported; it may not be sent")
            check_payload(value, f"{path}.{key}")
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            check_payload(value, f"{path}[{index}]")


def nobody_to_tell(unit: Unit) -> bool:
    """Whether a unit's channels reach nobody: none at all, or links without an address (its
    messages wait as ``handover`` for an inspector to pass the link on)."""
    for config in unit.channels or []:
        channel, target = _split_channel(config)
        if channel != Channel.LINK.value or recipients(target):
            return False
    return True


def _split_channel(config: Any) -> tuple[str, dict]:
    """A channel configuration as (channel, target)."""
    # A malformed one is kept and fails visibly at its first attempt (dead, with its error)
    # rather than failing the caller's transaction, e.g. a report's submission.
    if not isinstance(config, Mapping):
        return "invalid", {}
    target = {k: v for k, v in config.items() if k != "type"}
    return str(config.get("type") or "invalid")[:16], target


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any],
    unit: Unit | None = None,
    report_id: int | None = None,
    now: datetime,
    targets: Iterable[Mapping[str, Any]] | None = None,
) -> list[Delivery]:
    """One pending delivery per channel of ``targets`` or of the unit; the caller commits."""
    # Not committed here: the outbox row commits (or not) with the caller's change of state.
    # A unit without any channel gets one ``link`` delivery (recorded, or e-mailed).
    check_payload(payload)
    if targets is not None:
        configs = list(targets)
    elif unit is not None:
        configs = list(unit.channels or []) or [{"type": Channel.LINK.value}]
    else:
        raise ValueError("enqueue needs a unit or targets")
    deliveries = []
    for config in configs:
        channel, target = _split_channel(config)
        delivery = Delivery(
            kind=kind,
            report_id=report_id,
            unit_id=unit.id if unit is not None else None,
            channel=channel,
            target=target,
            payload=dict(payload),
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        deliveries.append(delivery)
    session.flush()
    return deliveries


# --- sending ---------------------------------------------------------------------------------


@dataclass
class ProcessResult:
    """What one pass over the due deliveries did."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    left: int = 0  # due, but left for the next run: the run's time was up
    handover: int = 0  # nobody to send to: an inspector passes the link on
    skipped: int = 0  # the unit no longer holds the report

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.dead + self.handover


def outgoing(delivery: Delivery) -> Outgoing:
    """The plain message a sender needs, from a delivery row."""
    return Outgoing(
        idempotency_id=delivery.idempotency_id,
        kind=delivery.kind,
        payload=delivery.payload or {},
        target=delivery.target or {},
        created_at=delivery.created_at,
    )


def sender_for(config: Mapping[str, Any]) -> SendFunc:
    """The default ``send``: each delivery through its channel's sender."""
    senders = build_senders(config)

    def send(delivery: Delivery) -> None:
        senders.send(delivery.channel, outgoing(delivery))

    return send


def _claim(session: Session, delivery_id: int, moment: datetime, lease: timedelta) -> bool:
    """Take the item for one attempt, unless another worker took it first."""
    claimed = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == DeliveryStatus.PENDING.value,
            Delivery.next_attempt_at <= moment,
        )
        .values(next_attempt_at=moment + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed == 1


def _failed(
    delivery: Delivery,
    error: DeliveryFailed,
    moment: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> bool:
    """Record a failed attempt; True when the delivery is now dead."""
    delivery.attempts += 1
    delivery.last_error = str(error)[:500]
    window_from = delivery.retry_from or delivery.created_at
    spent = delivery.attempts >= policy.max_attempts and moment - window_from >= timedelta(
        seconds=policy.retry_seconds
    )
    if error.permanent or spent:
        delivery.status = DeliveryStatus.DEAD.value
        delivery.next_attempt_at = moment
        return True
    delay = backoff_seconds(
        delivery.attempts, base=policy.base_seconds, cap=policy.cap_seconds, rng=rng
    )
    delivery.next_attempt_at = moment + timedelta(seconds=delay)
    return False


def _record(session: Session, delivery: Delivery, action: str, moment: datetime) -> None:
    """Write a message to a unit about a report, delivered or given up on, to its timeline."""
    # Only inspectors see these entries (they change no status); integrators' webhooks
    # (no unit) are not part of the report's story.
    if delivery.report_id is None or delivery.unit_id is None:
        return
    data = {
        "delivery_id": delivery.id,
        "kind": delivery.kind,
        "channel": delivery.channel,
        "unit_id": delivery.unit_id,
        "attempts": delivery.attempts,
    }
    if action == "delivery_failed":
        data["error"] = delivery.last_error
    session.add(
        Event(
            report_id=delivery.report_id,
            at=moment,
            actor=OUTBOX_ACTOR,
            action=action,
            from_status=None,
            to_status=None,
            data=data,
        )
    )


# Messages about a report the addressed unit holds: worth sending only while it still does.
UNIT_HELD_KINDS = frozenset({"report.forwarded", "report.severity_changed"})


def _unit_let_go(session: Session, delivery: Delivery) -> bool:
    """Whether the delivery is owed to a unit that no longer holds its report (re-routed,
    rejected, merged or verified since): its deadlines and link would mislead it."""
    if delivery.kind not in UNIT_HELD_KINDS or delivery.report_id is None:
        return False
    report = session.get(Report, delivery.report_id)
    return (
        report is None
        or report.unit_id != delivery.unit_id
        or Status(report.status) not in UNIT_HOLDS
    )


def process_due(
    session: Session,
    *,
    now: datetime,
    config: Mapping[str, Any],
    send: SendFunc | None = None,
    limit: int = 100,
    rng: random.Random | None = None,
    ids: Iterable[int] | None = None,
    budget_seconds: float | None = None,
) -> ProcessResult:
    """Attempt pending deliveries due at ``now``, oldest first, each committed on its own. With
    ``budget_seconds``, none is started once that long has gone by (an endpoint that times out
    takes 15 s an attempt): the rest stay due, untouched, for the next run."""
    policy = RetryPolicy.from_config(config)
    send = send or sender_for(config)
    rng = rng or random.Random()
    query = select(Delivery.id).where(
        Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now
    )
    if ids is not None:
        query = query.where(Delivery.id.in_(list(ids)))
    due = list(session.scalars(query.order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)))
    session.commit()

    result = ProcessResult()
    started = time.monotonic()
    lease = timedelta(seconds=policy.lease_seconds)
    for delivery_id in due:
        spent = time.monotonic() - started
        if budget_seconds is not None and spent >= budget_seconds:
            result.left += 1
            continue
        # Sending takes time: each attempt is stamped with ``now`` plus the time spent so far.
        moment = now + timedelta(seconds=spent)
        if not _claim(session, delivery_id, moment, lease):
            continue
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            continue
        if _unit_let_go(session, delivery):
            delivery.status = DeliveryStatus.SKIPPED.value
            result.skipped += 1
            session.commit()
            continue
        try:
            send(delivery)
        except NobodyToSend:
            delivery.attempts += 1
            delivery.status = DeliveryStatus.HANDOVER.value
            _record(session, delivery, "handover_needed", moment)
            result.handover += 1
            session.commit()
            continue
        except DeliveryFailed as error:
            dead = _failed(delivery, error, moment, policy, rng)
        except Exception as exc:
            # A bug in a sender must not stop the batch; it is retried like any failure.
            log.exception("delivery %s: unexpected error", delivery_id)
            dead = _failed(
                delivery,
                DeliveryFailed(f"internal error: {type(exc).__name__}"),
                moment,
                policy,
                rng,
            )
        else:
            delivery.attempts += 1
            delivery.status = DeliveryStatus.SENT.value
            delivery.sent_at = moment
            _record(session, delivery, "delivered", moment)
            result.sent += 1
            session.commit()
            continue
        if dead:
            _record(session, delivery, "delivery_failed", moment)
            result.dead += 1
            log.warning(
                "delivery %s is dead after %s attempt(s): %s",
                delivery_id,
                delivery.attempts,
                delivery.last_error,
            )
        else:
            result.retried += 1
        session.commit()
    return result


# --- reading and retrying --------------------------------------------------------------------


def _visible(session: Session, actor: Principal) -> ColumnElement[bool]:
    """Admins see every delivery; inspectors those of reports in their scope."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.INSPECTOR:
        scope = select(Report.id).where(access.visible_clause(session, actor))
        return Delivery.report_id.in_(scope)
    return false()


def get_delivery(session: Session, delivery_id: int, *, actor: Principal) -> Delivery:
    """One delivery the actor may see, or NotFound."""
    delivery = session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, _visible(session, actor))
    )
    if delivery is None:
        raise NotFound(what="该投递记录", what_en="delivery")
    return delivery


def retry_dead(
    session: Session, delivery_id: int, now: datetime, *, actor: Principal | None = None
) -> Delivery:
    """Put a dead delivery back in the queue with a fresh set of attempts and retry window."""
    if actor is not None:
        delivery = get_delivery(session, delivery_id, actor=actor)
    else:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFound(what="该投递记录", what_en="delivery")
    if delivery.status != DeliveryStatus.DEAD.value:
        raise DeliveryNotDead(status=delivery.status)
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.retry_from = now  # a fresh window of attempts, not the hours left of the first
    session.commit()
    return delivery


@dataclass(frozen=True)
class DeliveryFilters:
    status: str | None = None
    report_id: int | None = None
    unit_id: int | None = None


def encode_cursor(delivery_id: int) -> str:
    """An opaque cursor that resumes a listing after ``delivery_id``."""
    return encode_id_cursor("d", delivery_id)


def decode_cursor(cursor: str) -> int:
    """The delivery id inside a cursor; ValidationFailed when it is not one of ours."""
    return decode_id_cursor("d", cursor)


def list_deliveries(
    session: Session,
    filters: DeliveryFilters,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Delivery], str | None]:
    """Deliveries the actor may see, newest first, ``limit`` at a time, with the next cursor."""
    query = select(Delivery).where(_visible(session, actor)).order_by(Delivery.id.desc())
    if filters.status:
        query = query.where(Delivery.status == filters.status)
    if filters.report_id is not None:
        query = query.where(Delivery.report_id == filters.report_id)
    if filters.unit_id is not None:
        query = query.where(Delivery.unit_id == filters.unit_id)
    if cursor:
        query = query.where(Delivery.id < decode_cursor(cursor))
    rows = list(session.scalars(query.limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    return page, encode_cursor(page[-1].id) if more and page else None
