"""The principal: who is behind a request, as plain data every service can take."""

from __future__ import annotations

from dataclasses import dataclass

from hazard_reporter.accounts.models import Role, User


@dataclass(frozen=True)
class Principal:
    """The person behind a request; ``user`` is None for an anonymous caller."""

    user: User | None = None
    session_id: str | None = None
    via: str = "none"  # bearer | cookie | none

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    @property
    def role(self) -> Role | None:
        return Role(self.user.role) if self.user else None

    @property
    def actor(self) -> str:
        """How this principal is named in a report's timeline."""
        return f"user:{self.user.id}" if self.user else "anonymous"


ANONYMOUS = Principal()
