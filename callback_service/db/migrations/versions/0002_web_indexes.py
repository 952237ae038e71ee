"""web indexes: covering indexes for the dashboard cube, report-number prefix search, audit viewer

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

The dashboard groups a date range of reports with their rounds, scores and tickets. Without these,
PostgreSQL seq-scanned reports (no index leads with received_at) and hashed all of callback_tasks
(see benchmarks/web.py for the plans before and after).
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _pg():
        op.create_index("ix_reports_received_cover", "reports", ["received_at"],
                        postgresql_include=["station_id", "category", "id"])
        op.execute("CREATE INDEX ix_reports_report_no_prefix ON reports (report_no varchar_pattern_ops)")
    else:
        op.create_index("ix_reports_received_cover", "reports", ["received_at", "station_id", "category"])
    op.create_index("ix_tasks_report_cover", "callback_tasks", ["report_id", "round", "status", "reached"])
    op.create_index("ix_attempts_task_cover", "call_attempts", ["task_id", "id"])
    op.create_index("ix_attempts_started", "call_attempts", ["started_at"])
    op.create_index("ix_tickets_report_cover", "tickets", ["report_id", "reason", "status"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_index("ix_tickets_report_cover", table_name="tickets")
    op.drop_index("ix_attempts_started", table_name="call_attempts")
    op.drop_index("ix_attempts_task_cover", table_name="call_attempts")
    op.drop_index("ix_tasks_report_cover", table_name="callback_tasks")
    if _pg():
        op.drop_index("ix_reports_report_no_prefix", table_name="reports")
    op.drop_index("ix_reports_received_cover", table_name="reports")
