"""Which model is champion: the one `model_state` row every worker polls.

A promotion or a `/v1/models/reload` bumps its `generation`, so every worker notices within one
poll interval; a new champion serves only once its batch scores exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from store.rows import row_reader
from store.service_tables import as_utc, model_state, utcnow
from store.writers import write_transaction


@dataclass(frozen=True)
class ModelState:
    champion_version: str | None
    previous_version: str | None
    generation: int
    bumped_at: datetime | None
    bumped_by: str | None


_state_from_row = row_reader(ModelState, generation=int, bumped_at=as_utc)


def get_model_state(engine: Engine) -> ModelState:
    with engine.connect() as conn:
        row = conn.execute(select(model_state).where(model_state.c.id == 1)).first()
    return ModelState(None, None, 0, None, None) if row is None else _state_from_row(row)


def bump_model_state(engine: Engine, champion_version: str | None, *, by: str) -> ModelState:
    """Record the champion and bump the generation; every worker re-reads on its next poll.

    Passing the same version again still bumps: that is what a reload means."""
    now = utcnow()
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(model_state).where(model_state.c.id == 1).with_for_update()
        ).first()
        if row is None:
            conn.execute(
                insert(model_state).values(
                    id=1,
                    champion_version=champion_version,
                    previous_version=None,
                    generation=1,
                    bumped_at=now,
                    bumped_by=by,
                )
            )
        else:
            current = row._mapping["champion_version"]
            previous = (
                row._mapping["previous_version"] if current == champion_version else current
            )
            conn.execute(
                update(model_state)
                .where(model_state.c.id == 1)
                .values(
                    champion_version=champion_version,
                    previous_version=previous,
                    generation=model_state.c.generation + 1,
                    bumped_at=now,
                    bumped_by=by,
                )
            )
    return get_model_state(engine)


def serving_version(state: ModelState, scored: set[str]) -> str | None:
    """A new champion serves only once its batch scores exist; until then the previous one."""
    if state.champion_version is not None and state.champion_version in scored:
        return state.champion_version
    if state.previous_version is not None and state.previous_version in scored:
        return state.previous_version
    return None
