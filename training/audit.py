"""Model decisions in the audit log: who promoted or was refused, and which run registered what.

DESIGN.md §7 audits every write; a promotion changes what every bank is served, so it is written
with its reason, the versions and AUCs compared, whether it succeeded or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PROMOTE = "model.promote"
REFUSED = "model.refused"
REGISTER = "model.register"


def audit_model_action(
    engine: Engine,
    action: str,
    *,
    model_version: str | None,
    detail: dict[str, Any],
    actor: str | None = None,
) -> None:
    from store.audit import Operator, append_records, audit_record

    who = Operator(actor) if actor else Operator()
    append_records(engine, [audit_record(who, action, model_version=model_version, detail=detail)])
