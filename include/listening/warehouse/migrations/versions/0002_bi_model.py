"""The BI model: interactions, sales, brand sets, the marts, and audit columns.

* tables ``dim_brand_competitor``, ``dim_owned_account``, ``fct_interaction``, ``fct_sales``,
  ``etl_sales_file`` and the marts ``mart_share_of_voice``, ``mart_top_authors``,
  ``mart_hot_terms``, ``mart_alerts``, ``mart_pipeline_health``, ``mart_response``, ``mart_brand_kpi``
* columns ``dim_brand.goal``, ``etl_batch.date_key`` / ``brand_links``, ``etl_quarantine.stage``
* indexes on ``fct_mention.interval_key`` (load reconciliation) and ``etl_batch.date_key``

Existing ``etl_batch`` rows get their ``date_key`` (local day of ``window_start`` in the configured
timezone) and ``etl_quarantine`` rows the stage ``staged``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timezone():
    from zoneinfo import ZoneInfo

    try:
        # inside: a migration is a frozen file Alembic loads by path; only this data step needs the
        # configured time zone, and a missing or broken config must not stop the schema change
        from listening.config import load_config

        return load_config().tz
    except Exception:  # noqa: BLE001 - no config file where the migration runs: the documented default
        return ZoneInfo("Asia/Shanghai")


def _backfill() -> None:
    from datetime import UTC

    bind = op.get_bind()
    batch = sa.table("etl_batch", sa.column("batch_id", sa.String), sa.column("window_start", sa.DateTime(timezone=True)),
                     sa.column("date_key", sa.Integer))
    rows = bind.execute(sa.select(batch.c.batch_id, batch.c.window_start)).all()
    if rows:
        tz = _timezone()
        for batch_id, start in rows:
            start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
            local = start.astimezone(tz)
            bind.execute(sa.update(batch).where(batch.c.batch_id == batch_id)
                         .values(date_key=local.year * 10000 + local.month * 100 + local.day))  # frozen: not core
    bind.execute(sa.text("UPDATE etl_quarantine SET stage = 'staged' WHERE stage IS NULL"))


def upgrade() -> None:
    op.create_table('dim_brand_competitor',
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('competitor_id', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('brand_id', 'competitor_id')
    )
    op.create_table('dim_owned_account',
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('account_name', sa.String(length=200), nullable=False, comment='screen name of an official account'),
    sa.PrimaryKeyConstraint('brand_id', 'account_name')
    )
    op.create_table('etl_sales_file',
    sa.Column('file_key', sa.String(length=500), nullable=False, comment='lake key of the drop'),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False, comment='loaded / rejected'),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('loaded', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('first_date_key', sa.Integer(), nullable=True),
    sa.Column('last_date_key', sa.Integer(), nullable=True),
    sa.Column('errors', sa.Text(), nullable=False, comment='JSON list'),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('file_key')
    )
    op.create_table('fct_interaction',
    sa.Column('interaction_id', sa.String(length=300), nullable=False, comment='source_id:native_id'),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('native_id', sa.String(length=250), nullable=False, comment='comment id'),
    sa.Column('mention_id', sa.String(length=300), nullable=False, comment='the post commented on: source_id:status_id'),
    sa.Column('status_id', sa.String(length=250), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False, comment='owned_reply / reply / comment'),
    sa.Column('reply_to', sa.String(length=250), nullable=True, comment='the comment it answers (inline replies)'),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False, comment='UTC'),
    sa.Column('date_key', sa.Integer(), nullable=False, comment='local day (config timezone)'),
    sa.Column('author_key', sa.String(length=200), nullable=True),
    sa.Column('author_name', sa.Text(), nullable=True),
    sa.Column('author_followers', sa.BigInteger(), nullable=True),
    sa.Column('like_count', sa.BigInteger(), nullable=False),
    sa.Column('is_owned_reply', sa.Boolean(), nullable=False),
    sa.Column('owned_brand', sa.String(length=40), nullable=True, comment='brand whose official account wrote it'),
    sa.Column('sentiment', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=False),
    sa.Column('interval_key', sa.String(length=40), nullable=False),
    sa.Column('raw_ref', sa.Text(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('interaction_id')
    )
    op.create_index('ix_fct_interaction_date', 'fct_interaction', ['date_key'], unique=False)
    op.create_index('ix_fct_interaction_mention', 'fct_interaction', ['mention_id'], unique=False)
    op.create_table('fct_sales',
    sa.Column('date_key', sa.Integer(), nullable=False, comment='local day of the figures'),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('sales_amount', sa.Float(), nullable=True, comment="revenue in the drop's currency"),
    sa.Column('units', sa.BigInteger(), nullable=True),
    sa.Column('spend', sa.Float(), nullable=True, comment='campaign / media spend'),
    sa.Column('currency', sa.String(length=10), nullable=True),
    sa.Column('source_key', sa.Text(), nullable=False, comment='lake key of the drop file it came from'),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id')
    )
    op.create_table('mart_alerts',
    sa.Column('alert_id', sa.String(length=120), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False, comment='e.g. volume_spike, negative_spike'),
    sa.Column('severity', sa.String(length=20), nullable=False, comment='info / warning / critical'),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False, comment='open / acknowledged / closed'),
    sa.Column('payload', sa.JSON(), nullable=True, comment='the figures behind the alert'),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('alert_id')
    )
    op.create_index('ix_mart_alerts_brand_status', 'mart_alerts', ['brand_id', 'status'], unique=False)
    op.create_table('mart_brand_kpi',
    sa.Column('date_key', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('goal', sa.String(length=20), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('reach', sa.BigInteger(), nullable=False),
    sa.Column('engagement', sa.BigInteger(), nullable=False),
    sa.Column('share_of_voice', sa.Float(), nullable=True),
    sa.Column('net_sentiment', sa.Float(), nullable=True),
    sa.Column('avg_sentiment', sa.Float(), nullable=True),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('sales_amount', sa.Float(), nullable=True),
    sa.Column('units', sa.BigInteger(), nullable=True),
    sa.Column('spend', sa.Float(), nullable=True),
    sa.Column('kpi_1_name', sa.String(length=40), nullable=False),
    sa.Column('kpi_1_value', sa.Float(), nullable=True),
    sa.Column('kpi_2_name', sa.String(length=40), nullable=False),
    sa.Column('kpi_2_value', sa.Float(), nullable=True),
    sa.Column('kpi_3_name', sa.String(length=40), nullable=True),
    sa.Column('kpi_3_value', sa.Float(), nullable=True),
    sa.Column('kpi_1_per_spend', sa.Float(), nullable=True, comment='kpi_1_value / spend: output per unit of input'),
    sa.Column('sales_per_mention', sa.Float(), nullable=True),
    sa.Column('spend_per_1k_reach', sa.Float(), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id')
    )
    op.create_table('mart_hot_terms',
    sa.Column('date_key', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('trailing_7d_avg', sa.Float(), nullable=True),
    sa.Column('change', sa.Float(), nullable=True, comment='count / trailing_7d_avg - 1'),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('date_key', 'brand_id', 'term')
    )
    op.create_table('mart_pipeline_health',
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('interval_key', sa.String(length=40), nullable=False),
    sa.Column('date_key', sa.Integer(), nullable=False, comment='local day of window_start'),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('coverage', sa.String(length=20), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('parsed', sa.Integer(), nullable=False),
    sa.Column('loaded', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('quarantine_share', sa.Float(), nullable=True, comment='quarantined / (loaded + quarantined)'),
    sa.Column('slices', sa.Integer(), nullable=False, comment='crawled slices (split ones excluded)'),
    sa.Column('slices_complete', sa.Integer(), nullable=False),
    sa.Column('coverage_ratio', sa.Float(), nullable=True, comment='slices_complete / slices'),
    sa.Column('errors', sa.Integer(), nullable=False, comment='number of errors recorded'),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_id', 'interval_key')
    )
    op.create_index('ix_mart_pipeline_health_date', 'mart_pipeline_health', ['date_key'], unique=False)
    op.create_table('mart_response',
    sa.Column('date_key', sa.Integer(), nullable=False, comment='local day of the mention'),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False, comment='non-spam mentions not written by owned accounts'),
    sa.Column('mentions_replied', sa.Integer(), nullable=False, comment='... with at least one reply by the brand'),
    sa.Column('one_to_one_rate', sa.Float(), nullable=True, comment='mentions_replied / mentions'),
    sa.Column('negative_mentions', sa.Integer(), nullable=False),
    sa.Column('negative_replied', sa.Integer(), nullable=False),
    sa.Column('negative_awaiting', sa.Integer(), nullable=False),
    sa.Column('negative_reply_rate', sa.Float(), nullable=True, comment='negative_replied / negative_mentions'),
    sa.Column('median_first_reply_s', sa.Float(), nullable=True, comment='median seconds from a negative mention to the first reply'),
    sa.Column('owned_replies', sa.Integer(), nullable=False),
    sa.Column('user_comments', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id')
    )
    op.create_table('mart_share_of_voice',
    sa.Column('date_key', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('competitors', sa.Integer(), nullable=False, comment="competitors in the brand's set"),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('competitor_mentions', sa.Integer(), nullable=False),
    sa.Column('set_mentions', sa.Integer(), nullable=False, comment='brand + its competitors'),
    sa.Column('share_of_voice', sa.Float(), nullable=True, comment='mentions / set_mentions'),
    sa.Column('reach', sa.BigInteger(), nullable=False),
    sa.Column('set_reach', sa.BigInteger(), nullable=False),
    sa.Column('share_of_reach', sa.Float(), nullable=True),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.Column('set_positive', sa.Integer(), nullable=False),
    sa.Column('share_of_positive', sa.Float(), nullable=True),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('set_negative', sa.Integer(), nullable=False),
    sa.Column('share_of_negative', sa.Float(), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id')
    )
    op.create_table('mart_top_authors',
    sa.Column('date_key', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('author_key', sa.String(length=200), nullable=False),
    sa.Column('author_name', sa.Text(), nullable=True),
    sa.Column('kol_tier', sa.String(length=10), nullable=False),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('reach_weighted_mentions', sa.BigInteger(), nullable=False, comment='sum of reach over the mentions'),
    sa.Column('engagement', sa.BigInteger(), nullable=False),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('net_sentiment', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=False, comment='1 = most reach-weighted mentions that day for the brand'),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id', 'author_key')
    )
    op.add_column('dim_brand', sa.Column('goal', sa.String(length=20), nullable=True, comment='awareness / reputation / sales (sales config); NULL = awareness'))
    op.add_column('etl_batch', sa.Column('date_key', sa.Integer(), nullable=True, comment='local day (config timezone) of window_start'))
    op.add_column('etl_batch', sa.Column('brand_links', sa.Integer(), nullable=True, comment='bridge_mention_brand rows written by the load'))
    op.create_index('ix_etl_batch_date', 'etl_batch', ['date_key'], unique=False)
    op.add_column('etl_quarantine', sa.Column('stage', sa.String(length=20), nullable=True, comment='raw / staged / sales: which gate stopped the row'))
    op.create_index('ix_fct_mention_interval', 'fct_mention', ['interval_key'], unique=False)
    _backfill()


def downgrade() -> None:
    op.drop_index('ix_fct_mention_interval', table_name='fct_mention')
    with op.batch_alter_table('etl_quarantine') as batch:
        batch.drop_column('stage')
    op.drop_index('ix_etl_batch_date', table_name='etl_batch')
    with op.batch_alter_table('etl_batch') as batch:
        batch.drop_column('brand_links')
    with op.batch_alter_table('etl_batch') as batch:
        batch.drop_column('date_key')
    with op.batch_alter_table('dim_brand') as batch:
        batch.drop_column('goal')
    op.drop_table('mart_top_authors')
    op.drop_table('mart_share_of_voice')
    op.drop_table('mart_response')
    op.drop_index('ix_mart_pipeline_health_date', table_name='mart_pipeline_health')
    op.drop_table('mart_pipeline_health')
    op.drop_table('mart_hot_terms')
    op.drop_table('mart_brand_kpi')
    op.drop_index('ix_mart_alerts_brand_status', table_name='mart_alerts')
    op.drop_table('mart_alerts')
    op.drop_table('fct_sales')
    op.drop_index('ix_fct_interaction_mention', table_name='fct_interaction')
    op.drop_index('ix_fct_interaction_date', table_name='fct_interaction')
    op.drop_table('fct_interaction')
    op.drop_table('etl_sales_file')
    op.drop_table('dim_owned_account')
    op.drop_table('dim_brand_competitor')
