"""Tokens verified moments ago, remembered so that a burst of requests reads the database once.

A client paging through a list, or a dashboard page with its downloads, sends
many requests with one token within a second; each would otherwise look the
token up (a thread hop and a query) before doing its work. Only successful
checks are remembered, for :data:`RECENT_SECONDS` of the monotonic clock, per
database and per process. A remembered token is still held to its expiry and
to the session idle timeout at every use, against the request's clock, and is
looked up again when its last use is due to be recorded (once a minute), since
that use is what keeps a dashboard session from idling out.

Whatever ends a token in this process (revoking it, logging out, disabling or
deleting its user, changing the user's role or password) forgets every token
remembered for that database at once. Done by another process (another
``iroa serve``, or ``iroa token revoke``), it takes effect here within
:data:`RECENT_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iroa.auth.service import Principal

RECENT_SECONDS = 2.0
MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class Verified:
    """A token found live in the database, with what decides whether it still is."""

    principal: Principal
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime


class RecentTokens:
    """The tokens of one database verified in the last :data:`RECENT_SECONDS`.

    ``generation`` guards against a check that read the database before a
    revocation and finishes after it: :meth:`remember` drops an entry read
    under an older generation than the current one.
    """

    def __init__(
        self,
        seconds: float = RECENT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_REMEMBERED,
    ) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        self.max_entries = max_entries
        self.generation = 0
        self._entries: dict[tuple[str, str], tuple[float, Verified]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, token_hash: str) -> Verified | None:
        """The token as verified, if that was less than :data:`RECENT_SECONDS` ago."""
        found = self._entries.get((kind, token_hash))
        if found is None:
            return None
        until, verified = found
        if self.monotonic() >= until:
            self._entries.pop((kind, token_hash), None)
            return None
        return verified

    def remember(self, kind: str, token_hash: str, verified: Verified, generation: int) -> None:
        """Remember a check that began at ``generation``, unless a token ended since."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[(kind, token_hash)] = (self.monotonic() + self.seconds, verified)

    def forget_all(self) -> None:
        """Forget every token: one of them may have ended."""
        with self._lock:
            self.generation += 1
            self._entries.clear()


_by_database: dict[str, RecentTokens] = {}
_registry_lock = threading.Lock()


def recent_tokens(database_url: str) -> RecentTokens:
    """This process's recently verified tokens of the database at ``database_url``."""
    found = _by_database.get(database_url)
    if found is None:
        with _registry_lock:
            found = _by_database.setdefault(database_url, RecentTokens())
    return found
