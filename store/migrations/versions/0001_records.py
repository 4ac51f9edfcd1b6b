"""Record tables and upload batches (issue 2).

One table per record kind of store/records.py with provenance and versions, and `batches`.
This file is the frozen schema of revision 0001: later changes get their own revision.

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
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('reported_by', sa.Text(), nullable=True),
    sa.Column('reported_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_credit_events_event_date', 'credit_events', ['event_date'], unique=False)
    op.create_index('uq_credit_events_key_version', 'credit_events', ['firm_id', 'kind', 'event_date', 'version'], unique=True)
    op.create_table('financials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
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
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_financials_reported_on', 'financials', ['reported_on'], unique=False)
    op.create_index('uq_financials_key_version', 'financials', ['firm_id', 'fiscal_year', 'version'], unique=True)
    op.create_table('firms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('firm_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('region_code', sa.Text(), nullable=False),
    sa.Column('industry_code', sa.Text(), nullable=False),
    sa.Column('cluster', sa.Text(), nullable=True),
    sa.Column('founded_on', sa.Date(), nullable=False),
    sa.Column('is_core', sa.Boolean(), nullable=False),
    sa.Column('external_rating', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('uq_firms_key_version', 'firms', ['firm_id', 'version'], unique=True)
    op.create_table('fx_rates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('rate_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('cny_per_unit', sa.Numeric(precision=24, scale=12, asdecimal=False), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_fx_rates_rate_date', 'fx_rates', ['rate_date'], unique=False)
    op.create_index('uq_fx_rates_key_version', 'fx_rates', ['rate_date', 'currency', 'version'], unique=True)
    op.create_table('intangibles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
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
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_intangibles_as_of', 'intangibles', ['as_of'], unique=False)
    op.create_index('uq_intangibles_key_version', 'intangibles', ['firm_id', 'as_of', 'version'], unique=True)
    op.create_table('invoices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
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
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_invoices_issue_date', 'invoices', ['issue_date'], unique=False)
    op.create_index('uq_invoices_key_version', 'invoices', ['seller_id', 'kind', 'invoice_id', 'version'], unique=True)
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=False),
    sa.Column('buyer_id', sa.Text(), nullable=False),
    sa.Column('seller_id', sa.Text(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('payment_terms_days', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_orders_order_date', 'orders', ['order_date'], unique=False)
    op.create_index('uq_orders_key_version', 'orders', ['seller_id', 'order_id', 'version'], unique=True)
    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('payment_id', sa.Text(), nullable=False),
    sa.Column('payer_id', sa.Text(), nullable=False),
    sa.Column('payee_id', sa.Text(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.Column('invoice_id', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_payments_paid_on', 'payments', ['paid_on'], unique=False)
    op.create_index('uq_payments_key_version', 'payments', ['payer_id', 'payment_id', 'version'], unique=True)
    op.create_table('shipments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('record_hash', sa.String(length=32), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('shipment_id', sa.Text(), nullable=False),
    sa.Column('shipper_id', sa.Text(), nullable=False),
    sa.Column('consignee_id', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Text(), nullable=True),
    sa.Column('ship_date', sa.Date(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('goods_value_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_shipments_ship_date', 'shipments', ['ship_date'], unique=False)
    op.create_index('uq_shipments_key_version', 'shipments', ['shipper_id', 'shipment_id', 'version'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_shipments_key_version', table_name='shipments')
    op.drop_index('ix_shipments_ship_date', table_name='shipments')
    op.drop_table('shipments')
    op.drop_index('uq_payments_key_version', table_name='payments')
    op.drop_index('ix_payments_paid_on', table_name='payments')
    op.drop_table('payments')
    op.drop_index('uq_orders_key_version', table_name='orders')
    op.drop_index('ix_orders_order_date', table_name='orders')
    op.drop_table('orders')
    op.drop_index('uq_invoices_key_version', table_name='invoices')
    op.drop_index('ix_invoices_issue_date', table_name='invoices')
    op.drop_table('invoices')
    op.drop_index('uq_intangibles_key_version', table_name='intangibles')
    op.drop_index('ix_intangibles_as_of', table_name='intangibles')
    op.drop_table('intangibles')
    op.drop_index('uq_fx_rates_key_version', table_name='fx_rates')
    op.drop_index('ix_fx_rates_rate_date', table_name='fx_rates')
    op.drop_table('fx_rates')
    op.drop_index('uq_firms_key_version', table_name='firms')
    op.drop_table('firms')
    op.drop_index('uq_financials_key_version', table_name='financials')
    op.drop_index('ix_financials_reported_on', table_name='financials')
    op.drop_table('financials')
    op.drop_index('uq_credit_events_key_version', table_name='credit_events')
    op.drop_index('ix_credit_events_event_date', table_name='credit_events')
    op.drop_table('credit_events')
    op.drop_index(op.f('ix_batches_kind'), table_name='batches')
    op.drop_index(op.f('ix_batches_content_hash'), table_name='batches')
    op.drop_table('batches')
