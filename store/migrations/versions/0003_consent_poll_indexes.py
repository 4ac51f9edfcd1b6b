"""Indexes for the consent poll: consents created or withdrawn since a moment.

Every API worker asks twice a second which consents were granted or withdrawn over the last
minutes (api.consent_index); without an index on each moment that is a scan of the whole table.

Revision ID: 0003_consent_poll_indexes
Revises: 0002_service
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_consent_poll_indexes"
down_revision: str | None = "0002_service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_consents_created_at", "consents", ["created_at"])
    op.create_index("ix_consents_withdrawn_at", "consents", ["withdrawn_at"])


def downgrade() -> None:
    op.drop_index("ix_consents_withdrawn_at", table_name="consents")
    op.drop_index("ix_consents_created_at", table_name="consents")
