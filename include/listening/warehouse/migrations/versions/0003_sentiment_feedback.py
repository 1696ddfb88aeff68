"""Analysts' corrected sentiment labels (training data of the retrain_sentiment DAG).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_feedback",
        sa.Column("mention_id", sa.String(300), nullable=False, comment="fct_mention.mention_id"),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False, comment="UTC; the latest wins"),
        sa.Column("label", sa.String(10), nullable=False, comment="negative / neutral / positive"),
        sa.Column("corrected_by", sa.String(200), nullable=False),
        sa.CheckConstraint("label IN ('negative', 'neutral', 'positive')", name="ck_sentiment_feedback_label"),
        sa.PrimaryKeyConstraint("mention_id", "corrected_at"),
        comment="analysts' corrected sentiment labels; training data of the retrain_sentiment DAG",
    )


def downgrade() -> None:
    op.drop_table("sentiment_feedback")
