"""Model decisions in the audit log: who promoted or was refused, and which run registered what.

DESIGN.md §7 audits every write; a promotion changes what every bank is served, so it is written
with its reason, the versions and AUCs compared, whether it succeeded or not.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PROMOTE = "model.promote"
REFUSED = "model.refused"
REGISTER = "model.register"


def cli_actor() -> str:
    """"cli:<operating-system user>", the command line's identity in the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def audit_model_action(
    engine: Engine,
    action: str,
    *,
    model_version: str | None,
    detail: dict[str, Any],
    actor: str | None = None,
) -> None:
    from store.audit import AuditRecord, append_records

    append_records(
        engine,
        [AuditRecord(actor=actor or cli_actor(), action=action, role="admin",
                     model_version=model_version, detail=detail)],
    )
