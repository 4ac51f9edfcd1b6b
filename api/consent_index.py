"""Every consent of the service held in memory, so a score call checks consent without the database.

A score call used to look its consent up in the database (through a thread) whenever its 1 s
cache entry had expired, which with many firms meant one query per request. The index loads all
unwithdrawn consents once and then polls for changes: new rows by id (the primary key, so the
poll is cheap) and withdrawals by `withdrawn_at` over a look-back margin, because a withdrawal
committed just after a poll may carry a timestamp taken just before it. Grants and withdrawals
made through this worker apply at once; other workers see them within one poll interval, the
same bound the old cache gave.

The margin is re-read as ids only, and only ids this worker has not seen become full rows and
index updates. Re-reading whole rows made every poll after a bulk grant rebuild thousands of
consents for two minutes (37 ms of CPU holding the GIL every 0.5 s per worker with 2,000
consents, and the garbage set off full collections of several hundred ms: issue 6's p99).
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from api.poller import Poller
from store.consents import Consent, consent_changes
from store.service_tables import utcnow

log = logging.getLogger("chaincredit.consents")

# How far back each poll looks for new and withdrawn consents (longer than any transaction).
WITHDRAWAL_MARGIN = timedelta(minutes=2)


def _rank(c: Consent) -> tuple[date, int]:
    """The consent that lasts longest wins, then the newest (as store.consents orders them)."""
    return c.valid_until, c.id


class ConsentIndex:
    def __init__(self, engine: Engine, *, poll_seconds: float = 0.5) -> None:
        self._engine = engine
        self._poller = Poller(self.refresh, poll_seconds, "consent-poller")
        self._by_bank: dict[str, dict[str, list[Consent]]] = {}  # bank -> firm -> consents
        self._max_id = 0
        self._since: datetime | None = None
        self._withdrawn: set[int] = set()
        self._seen: set[int] = set()  # every id added or withdrawn: the margin skips these
        self._lock = threading.Lock()  # the poll thread and the event loop both write
        self.loaded = False

    # --- reading (event loop, no I/O) -----------------------------------------------------
    def in_force(self, bank_org: str, firm_id: str, day: date) -> Consent | None:
        found = [c for c in self._by_bank.get(bank_org, {}).get(firm_id, ()) if c.in_force(day)]
        return max(found, key=_rank) if found else None

    def firms_of(self, bank_org: str, day: date) -> set[str]:
        """Firms whose consent to `bank_org` is in force on `day`."""
        return {f for f, cs in self._by_bank.get(bank_org, {}).items() if any(c.in_force(day) for c in cs)}

    def __len__(self) -> int:
        return sum(len(cs) for firms in self._by_bank.values() for cs in firms.values())

    # --- changes ---------------------------------------------------------------------------
    def add(self, consent: Consent) -> None:
        if consent.withdrawn_at is not None or consent.id in self._withdrawn:
            self.remove(consent.id, consent.bank_org, consent.firm_id)
            return
        with self._lock:
            self._seen.add(consent.id)
            firms = self._by_bank.setdefault(consent.bank_org, {})
            kept = [c for c in firms.get(consent.firm_id, ()) if c.id != consent.id]
            firms[consent.firm_id] = [*kept, consent]
            self._max_id = max(self._max_id, consent.id)

    def remove(self, consent_id: int, bank_org: str, firm_id: str) -> None:
        with self._lock:
            self._withdrawn.add(consent_id)  # withdrawal is final: a stale read cannot undo it
            self._seen.add(consent_id)
            firms = self._by_bank.get(bank_org, {})
            kept = [c for c in firms.get(firm_id, ()) if c.id != consent_id]
            if kept:
                firms[firm_id] = kept
            else:
                firms.pop(firm_id, None)

    def refresh(self) -> int:
        """Read what changed since the last poll (everything, the first time); changes seen."""
        started = utcnow()
        first = not self.loaded
        since = None if first or self._since is None else self._since - WITHDRAWAL_MARGIN
        changes = consent_changes(self._engine, after_id=self._max_id, since=since, seen=self._seen)
        gone = [(cid, bank, firm) for cid, bank, firm in changes.withdrawn if cid not in self._withdrawn]
        for consent in changes.new:
            self.add(consent)
        for cid, bank, firm in gone:
            self.remove(cid, bank, firm)
        self._since = started
        self.loaded = True
        if first:
            log.info("consent index loaded: %d consent(s) in memory", len(self))
        return len(changes.new) + len(gone)

    # --- the poller ----------------------------------------------------------------------
    async def start(self) -> None:
        await self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

