"""API keys: random high-entropy tokens of which only a SHA-256 hash is kept.

A key is not a password (it has 256 bits of entropy, nobody picks it), so a fast hash is enough
and lets every request be authenticated with one indexed lookup instead of a bcrypt round.
The token carries a public key id so listings and the audit log can name a key without it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from store.rows import row_reader
from store.service_tables import api_keys, as_utc, utcnow
from store.text import has_control
from store.writers import write_transaction

ROLES = ("admin", "bank", "enterprise", "model_owner")
TOKEN_PREFIX = "cck"


class UnknownKey(LookupError):
    """No such key (revoking or reading one that does not exist)."""


class InvalidRole(ValueError):
    pass


class InvalidKeyRequest(ValueError):
    """A key asked for with an organisation or label no record can hold (blank, control
    characters): the caller's mistake, answered as such rather than failing in the database."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: str
    org: str
    label: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class NewKey:
    """What `create_key` returns: the token exists only here, never in the database."""

    token: str
    key: ApiKey


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_row_to_key = row_reader(ApiKey, created_at=as_utc, expires_at=as_utc, revoked_at=as_utc)


def create_key(
    engine: Engine,
    *,
    role: str,
    org: str,
    created_by: str,
    expires_at: datetime | None = None,
    label: str | None = None,
) -> NewKey:
    if role not in ROLES:
        raise InvalidRole(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not org.strip():
        raise InvalidKeyRequest("a key belongs to an organisation: give its USCC")
    if has_control(org) or (label is not None and has_control(label)):
        raise InvalidKeyRequest("org and label cannot contain control characters (line breaks, tabs, NUL)")
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    row = {
        "key_id": key_id,
        "key_hash": hash_token(token),
        "role": role,
        "org": org.strip(),
        "label": label,
        "created_at": now,
        "created_by": created_by,
        "expires_at": expires_at,
        "revoked_at": None,
    }
    with write_transaction(engine) as conn:
        conn.execute(insert(api_keys).values(**row))
    key = ApiKey(
        key_id=key_id,
        role=role,
        org=org.strip(),
        label=label,
        created_at=now,
        created_by=created_by,
        expires_at=expires_at,
        revoked_at=None,
    )
    return NewKey(token=token, key=key)


def lookup_token(engine: Engine, token: str) -> ApiKey | None:
    """The key a token belongs to, revoked or expired ones included (the caller says why not)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(api_keys).where(api_keys.c.key_hash == hash_token(token))
        ).first()
    return None if row is None else _row_to_key(row)


def revoke_key(engine: Engine, key_id: str, *, at: datetime | None = None) -> ApiKey:
    with write_transaction(engine) as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at or utcnow())
        )
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None:
        raise UnknownKey(f"no key with id {key_id!r}")
    return _row_to_key(row)


def list_keys(engine: Engine, *, org: str | None = None) -> list[ApiKey]:
    stmt = select(api_keys).order_by(api_keys.c.id)
    if org is not None:
        stmt = stmt.where(api_keys.c.org == org)
    with engine.connect() as conn:
        return [_row_to_key(r) for r in conn.execute(stmt)]
