"""repeat-reporter index: reports by reporter and time

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

The planner counts each due report's same-person reports in the repeat window in one query per
batch: by phone (``ix_reports_phone_received``) and by ID-number hash (reporters ->
``ix_reports_reporter_received``). Without this index PostgreSQL hashed all of reports per batch.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reports_reporter_received", "reports", ["reporter_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_reporter_received", table_name="reports")
