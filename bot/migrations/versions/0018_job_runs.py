"""Job runs: what the scheduled jobs did per period (reports, statements, backups); the
scheduled reports the owners switched on or off

The scheduled backup kept its "last sent" as outbox rows of kind backup_sent; those rows
move here, so a running bot does not send an early backup after the upgrade.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=191), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "period", name="uq_job_runs_job_period"),
    )
    op.create_table(
        "report_switches",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_switches")),
    )
    op.execute(
        "INSERT INTO job_runs (job, period, done_at, detail) "
        "SELECT 'backup:' || CAST(chat_id AS VARCHAR(32)), key, sent_at, payload FROM outbox "
        "WHERE kind = 'backup_sent' AND sent_at IS NOT NULL"
    )
    op.execute("DELETE FROM outbox WHERE kind = 'backup_sent'")


def downgrade() -> None:
    op.drop_table("report_switches")
    op.drop_table("job_runs")
