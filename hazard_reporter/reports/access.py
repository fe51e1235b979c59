"""Who may see which report, and how much of it: the scope rules in one place."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hazard_reporter.accounts.models import Role
from hazard_reporter.accounts.principal import Principal
from hazard_reporter.regions import services as regions
from hazard_reporter.regions.models import Region
from hazard_reporter.reports.models import Report, Status


class Audience(StrEnum):
    """How much of a report a reader gets."""

    REPORTER = "reporter"  # the reporter: their report and its timeline
    UNIT = "unit"  # the responsible unit: the hazard, nothing about who reported it
    COMMITTEE = "committee"  # the award committee: verified reports
    INSPECTOR = "inspector"  # inspectors and admins in scope: everything, identity on request


def _inspector_regions(session: Session, principal: Principal) -> tuple[list[str], bool]:
    """Every region code in the inspector's subtrees, and whether a root region is among them
    (whoever holds a root also triages reports that no region could be given to)."""
    codes: set[str] = set()
    holds_root = False
    for code in principal.user.region_codes or []:
        codes.update(regions.subtree_codes(session, code))
        region = session.get(Region, code)
        holds_root = holds_root or (region is not None and region.parent_code is None)
    return sorted(codes), holds_root


def visible_clause(session: Session, principal: Principal) -> ColumnElement[bool]:
    """The SQL condition selecting the reports ``principal`` may see."""
    role = principal.role
    if role is Role.ADMIN:
        return true()
    if role is Role.INSPECTOR:
        codes, holds_root = _inspector_regions(session, principal)
        where = Report.region_code.in_(codes) if codes else false()
        if holds_root:
            where = or_(where, Report.region_code.is_(None))
        if principal.user.sectors:
            where = and_(where, Report.sector.in_(principal.user.sectors))
        return where
    if role is Role.UNIT_STAFF:
        unit_id = principal.user.unit_id
        return Report.unit_id == unit_id if unit_id is not None else false()
    if role is Role.COMMITTEE:
        return Report.status == Status.VERIFIED.value
    if role is Role.WORKER:
        return Report.reporter_id == principal.user.id
    return false()


def refuse_own_report(session: Session, report: Report, actor: Principal) -> None:
    """Raise OwnReport if ``actor`` reported ``report``, holds its credit, or reported one merged
    into it (the credit goes to a cluster's first report, so merging one's own report into
    another's would do): the steps that decide a commendation are never the reporter's own."""
    from hazard_reporter.errors import OwnReport

    user = actor.user
    if user is None:
        return
    if user.id in (report.reporter_id, report.credit_reporter_id):
        raise OwnReport()
    merged = select(Report.id).where(
        Report.duplicate_of_id == report.id, Report.reporter_id == user.id
    )
    if session.scalar(merged.limit(1)) is not None:
        raise OwnReport()


def can_read(session: Session, principal: Principal, report: Report) -> bool:
    """Whether ``principal`` may see this report at all."""
    if not principal.authenticated:
        return False
    role = principal.role
    if role is Role.ADMIN:
        return True
    if role is Role.INSPECTOR:
        codes, holds_root = _inspector_regions(session, principal)
        in_region = report.region_code in codes or (report.region_code is None and holds_root)
        sectors = principal.user.sectors
        return in_region and (not sectors or report.sector in sectors)
    if role is Role.UNIT_STAFF:
        return report.unit_id is not None and report.unit_id == principal.user.unit_id
    if role is Role.COMMITTEE:
        return report.status == Status.VERIFIED.value
    if role is Role.WORKER:
        return report.reporter_id == principal.user.id
    return False


def can_see_identity(session: Session, principal: Principal, report: Report) -> bool:
    """Reporter identity, device and original photos: inspectors and admins of the scope only."""
    return principal.role in (Role.INSPECTOR, Role.ADMIN) and can_read(session, principal, report)


def audience_of(principal: Principal) -> Audience:
    """The view a signed-in principal gets of a report it may read."""
    return {
        Role.ADMIN: Audience.INSPECTOR,
        Role.INSPECTOR: Audience.INSPECTOR,
        Role.UNIT_STAFF: Audience.UNIT,
        Role.COMMITTEE: Audience.COMMITTEE,
    }.get(principal.role, Audience.REPORTER)
