"""Who may open a review session in the browser.

A browser gets a session (a random cookie) once it has given a reviewer name and, when the server
has one, the password. Each page load then gets a single-use ticket for its websocket: the app
process starts only for a valid ticket, so a wrong password never starts an app, and a page from
another site cannot open a session (it cannot read the ticket). Everything lives in memory: a
restarted server asks everyone to log in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from curator.domain import CuratorError
from curator.reviewers import MAX_REVIEWER, BadReviewer, clean_reviewer

__all__ = [
    "MAX_REVIEWER",
    "SESSION_SECONDS",
    "TICKET_SECONDS",
    "Access",
    "BadReviewer",
    "WrongPassword",
    "clean_reviewer",
]

#: A ticket is for the page that was just served: it must be used within this many seconds.
TICKET_SECONDS = 60.0
#: A browser session (the cookie) lasts a working day.
SESSION_SECONDS = 12 * 3600.0


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


@dataclass
class Access:
    """Sessions and tickets of one server; `password` None means anyone may log in with a name."""

    password: str | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    _tickets: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)

    @property
    def needs_password(self) -> bool:
        return self.password is not None

    def _now(self) -> float:
        return self.clock()

    def password_ok(self, given: str) -> bool:
        """Constant-time comparison (of digests, so the length does not leak either)."""
        if self.password is None:
            return True
        return hmac.compare_digest(_digest(given), _digest(self.password))

    def log_in(self, reviewer: str, password: str) -> str:
        """A new session id for `reviewer`; BadReviewer or WrongPassword when refused."""
        name = clean_reviewer(reviewer)
        if not self.password_ok(password):
            raise WrongPassword("wrong password")
        session = secrets.token_urlsafe(32)
        self._sessions[session] = (name, self._now() + SESSION_SECONDS)
        return session

    def log_out(self, session: str | None) -> None:
        if session:
            self._sessions.pop(session, None)

    def reviewer_of(self, session: str | None) -> str | None:
        """The reviewer of a live session, None for no, an unknown or an expired session."""
        if not session or session not in self._sessions:
            return None
        name, until = self._sessions[session]
        if self._now() > until:
            del self._sessions[session]
            return None
        return name

    def issue_ticket(self, reviewer: str) -> str:
        """A single-use ticket for the websocket of the page being served to `reviewer`."""
        now = self._now()
        for stale in [t for t, (_, until) in self._tickets.items() if until < now]:
            del self._tickets[stale]
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (clean_reviewer(reviewer), now + TICKET_SECONDS)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The reviewer a ticket was issued to, once; None when unknown, used or expired."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or self._now() > entry[1]:
            return None
        return entry[0]


class WrongPassword(CuratorError):
    """The password given at the login page is not the server's."""

    exit_code = 2
