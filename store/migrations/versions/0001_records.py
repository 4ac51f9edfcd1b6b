"""Record tables and upload batches (issue 2).

One table per record kind of store/records.py with provenance and versions, and `batches`.
This file is the frozen schema of revision 0001: later changes get their own revision. (Edited
in place before any deployment for ingestion speed: each record table has a BIGINT `key_hash`
with the table's only index and a BIGINT `record_hash`; no surrogate id, no date index.)

Revision ID: 0001_records
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_records"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('batches',
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('uploaded_by', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('content_hash', sa.String(), nullable=False),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('replaced', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_index(op.f('ix_batches_content_hash'), 'batches', ['content_hash'], unique=False)
    op.create_index(op.f('ix_batches_kind'), 'batches', ['kind'], unique=False)
    op.create_table('credit_events',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('reported_by', sa.Text(), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=True),
    )
    op.create_index('ix_credit_events_key_hash', 'credit_events', ['key_hash'], unique=False)
    op.create_table('financials',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('fiscal_year', sa.BigInteger(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('net_profit_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_assets_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_liabilities_minor', sa.BigInteger(), nullable=False),
    sa.Column('current_assets_minor', sa.BigInteger(), nullable=False),
    sa.Column('current_liabilities_minor', sa.BigInteger(), nullable=False),
    sa.Column('operating_cash_flow_minor', sa.BigInteger(), nullable=False),
    )
    op.create_index('ix_financials_key_hash', 'financials', ['key_hash'], unique=False)
    op.create_table('firms',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('region_code', sa.Text(), nullable=False),
    sa.Column('industry_code', sa.Text(), nullable=False),
    sa.Column('cluster', sa.Text(), nullable=True),
    sa.Column('founded_on', sa.Date(), nullable=False),
    sa.Column('is_core', sa.Boolean(), nullable=False),
    sa.Column('external_rating', sa.Text(), nullable=True),
    )
    op.create_index('ix_firms_key_hash', 'firms', ['key_hash'], unique=False)
    op.create_table('fx_rates',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('rate_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('cny_per_unit', sa.Numeric(precision=24, scale=12, asdecimal=False), nullable=False),
    )
    op.create_index('ix_fx_rates_key_hash', 'fx_rates', ['key_hash'], unique=False)
    op.create_table('intangibles',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('invention_patents', sa.BigInteger(), nullable=False),
    sa.Column('utility_patents', sa.BigInteger(), nullable=False),
    sa.Column('design_patents', sa.BigInteger(), nullable=False),
    sa.Column('trademarks', sa.BigInteger(), nullable=False),
    sa.Column('software_copyrights', sa.BigInteger(), nullable=False),
    sa.Column('rd_expense_minor', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('tech_staff', sa.BigInteger(), nullable=False),
    sa.Column('total_staff', sa.BigInteger(), nullable=False),
    sa.Column('high_tech', sa.Boolean(), nullable=False),
    sa.Column('specialised_level', sa.Text(), nullable=False),
    sa.Column('tech_sme', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_intangibles_key_hash', 'intangibles', ['key_hash'], unique=False)
    op.create_table('invoices',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.Text(), nullable=False),
    sa.Column('seller_id', sa.Text(), nullable=False),
    sa.Column('buyer_id', sa.Text(), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('tax_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('payable_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('original_invoice_id', sa.Text(), nullable=True),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('line_count', sa.BigInteger(), nullable=True),
    )
    op.create_index('ix_invoices_key_hash', 'invoices', ['key_hash'], unique=False)
    op.create_table('orders',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=False),
    sa.Column('buyer_id', sa.Text(), nullable=False),
    sa.Column('seller_id', sa.Text(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('payment_terms_days', sa.BigInteger(), nullable=False),
    )
    op.create_index('ix_orders_key_hash', 'orders', ['key_hash'], unique=False)
    op.create_table('payments',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('payment_id', sa.Text(), nullable=False),
    sa.Column('payer_id', sa.Text(), nullable=False),
    sa.Column('payee_id', sa.Text(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.Text(), nullable=True),
    )
    op.create_index('ix_payments_key_hash', 'payments', ['key_hash'], unique=False)
    op.create_table('shipments',
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('shipment_id', sa.Text(), nullable=False),
    sa.Column('shipper_id', sa.Text(), nullable=False),
    sa.Column('consignee_id', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('goods_value_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    )
    op.create_index('ix_shipments_key_hash', 'shipments', ['key_hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_shipments_key_hash', table_name='shipments')
    op.drop_table('shipments')
    op.drop_index('ix_payments_key_hash', table_name='payments')
    op.drop_table('payments')
    op.drop_index('ix_orders_key_hash', table_name='orders')
    op.drop_table('orders')
    op.drop_index('ix_invoices_key_hash', table_name='invoices')
    op.drop_table('invoices')
    op.drop_index('ix_intangibles_key_hash', table_name='intangibles')
    op.drop_table('intangibles')
    op.drop_index('ix_fx_rates_key_hash', table_name='fx_rates')
    op.drop_table('fx_rates')
    op.drop_index('ix_firms_key_hash', table_name='firms')
    op.drop_table('firms')
    op.drop_index('ix_financials_key_hash', table_name='financials')
    op.drop_table('financials')
    op.drop_index('ix_credit_events_key_hash', table_name='credit_events')
    op.drop_table('credit_events')
    op.drop_index(op.f('ix_batches_kind'), table_name='batches')
    op.drop_index(op.f('ix_batches_content_hash'), table_name='batches')
    op.drop_table('batches')
