"""Baseline: exactly the schema of the first release (``metadata.create_all`` before migrations).

A database created by that release (tables but no ``alembic_version``) is stamped with this
revision by :func:`listening.warehouse.upgrade` and then upgraded; a new database is created
by running it.  Frozen: never edit a released revision, add a new one.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bridge_mention_brand',
    sa.Column('mention_id', sa.String(length=300), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('matched_terms', sa.Text(), nullable=False, comment='JSON list of query terms found'),
    sa.PrimaryKeyConstraint('mention_id', 'brand_id')
    )
    op.create_index('ix_bridge_brand', 'bridge_mention_brand', ['brand_id'], unique=False)
    op.create_table('dim_author',
    sa.Column('author_key', sa.String(length=200), nullable=False, comment='source_id:author_id'),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('author_id', sa.String(length=200), nullable=False),
    sa.Column('author_name', sa.Text(), nullable=True),
    sa.Column('followers', sa.BigInteger(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=True),
    sa.Column('verified_type', sa.Integer(), nullable=True),
    sa.Column('kol_tier', sa.String(length=10), nullable=False, comment='mega / macro / micro / nano / none'),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('author_key')
    )
    op.create_table('dim_brand',
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('brand_name', sa.String(length=200), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('competitors', sa.Text(), nullable=False, comment='comma-separated brand ids'),
    sa.Column('owned_accounts', sa.Text(), nullable=False, comment='comma-separated account names'),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('brand_id')
    )
    op.create_table('dim_date',
    sa.Column('date_key', sa.Integer(), nullable=False, comment='YYYYMMDD of the local day'),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('iso_year', sa.Integer(), nullable=False),
    sa.Column('iso_week', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False, comment='1 = Monday ... 7 = Sunday'),
    sa.Column('is_weekend', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('date_key'),
    sa.UniqueConstraint('date')
    )
    op.create_table('dim_source',
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('base_url', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_id')
    )
    op.create_table('etl_batch',
    sa.Column('batch_id', sa.String(length=120), nullable=False, comment='source_id/interval_key'),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('interval_key', sa.String(length=40), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False, comment='loaded / failed / rejected'),
    sa.Column('coverage', sa.String(length=20), nullable=False, comment='complete / partial / capped / failed'),
    sa.Column('fetched', sa.Integer(), nullable=False, comment='raw HTTP responses'),
    sa.Column('parsed', sa.Integer(), nullable=False),
    sa.Column('out_of_window', sa.Integer(), nullable=False),
    sa.Column('unmatched', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('loaded', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False, comment='JSON list'),
    sa.Column('raw_key', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch_id')
    )
    op.create_table('etl_coverage',
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('interval_key', sa.String(length=40), nullable=False),
    sa.Column('slice_no', sa.Integer(), nullable=False),
    sa.Column('slice_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slice_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('source_id', 'interval_key', 'slice_no')
    )
    op.create_table('etl_cursor',
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=False, comment='JSON'),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_id')
    )
    op.create_table('etl_quarantine',
    sa.Column('interval_key', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('native_id', sa.String(length=250), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False, comment='the mention as JSON'),
    sa.Column('raw_ref', sa.Text(), nullable=True),
    sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('interval_key', 'source_id', 'native_id')
    )
    op.create_table('fct_mention',
    sa.Column('mention_id', sa.String(length=300), nullable=False, comment='source_id:native_id'),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('native_id', sa.String(length=250), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False, comment='display text, original script'),
    sa.Column('clean_text', sa.Text(), nullable=False, comment='what the sentiment model read'),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False, comment='UTC'),
    sa.Column('date_key', sa.Integer(), nullable=False, comment='local day (config timezone), FK dim_date'),
    sa.Column('hour_local', sa.Integer(), nullable=False),
    sa.Column('author_key', sa.String(length=200), nullable=True),
    sa.Column('reposts', sa.BigInteger(), nullable=False),
    sa.Column('comments', sa.BigInteger(), nullable=False),
    sa.Column('likes', sa.BigInteger(), nullable=False),
    sa.Column('engagement', sa.BigInteger(), nullable=False, comment='reposts + comments + likes'),
    sa.Column('reach', sa.BigInteger(), nullable=False, comment='author followers at crawl time'),
    sa.Column('is_repost', sa.Boolean(), nullable=False),
    sa.Column('retweet_of', sa.String(length=250), nullable=True),
    sa.Column('is_spam', sa.Boolean(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('content_hash', sa.String(length=32), nullable=False),
    sa.Column('story_id', sa.String(length=64), nullable=False),
    sa.Column('sentiment', sa.Float(), nullable=True, comment='SnowNLP P(positive); NULL = no text to score'),
    sa.Column('sentiment_label', sa.String(length=10), nullable=False, comment='negative / neutral / positive / none'),
    sa.Column('model_version', sa.String(length=80), nullable=True),
    sa.Column('interval_key', sa.String(length=40), nullable=False, comment='data interval that loaded it last'),
    sa.Column('raw_ref', sa.Text(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mention_id')
    )
    op.create_index('ix_fct_mention_date', 'fct_mention', ['date_key'], unique=False)
    op.create_index('ix_fct_mention_source_native', 'fct_mention', ['source_id', 'native_id'], unique=True)
    op.create_index('ix_fct_mention_story', 'fct_mention', ['story_id'], unique=False)
    op.create_table('mart_brand_daily',
    sa.Column('date_key', sa.Integer(), nullable=False),
    sa.Column('brand_id', sa.String(length=40), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('unique_stories', sa.Integer(), nullable=False),
    sa.Column('positive', sa.Integer(), nullable=False),
    sa.Column('neutral', sa.Integer(), nullable=False),
    sa.Column('negative', sa.Integer(), nullable=False),
    sa.Column('unscored', sa.Integer(), nullable=False),
    sa.Column('net_sentiment', sa.Float(), nullable=True, comment='(positive - negative) / mentions'),
    sa.Column('avg_sentiment', sa.Float(), nullable=True),
    sa.Column('engagement', sa.BigInteger(), nullable=False),
    sa.Column('reach', sa.BigInteger(), nullable=False),
    sa.Column('spam_excluded', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('date_key', 'brand_id')
    )


def downgrade() -> None:
    op.drop_table('mart_brand_daily')
    op.drop_index('ix_fct_mention_story', table_name='fct_mention')
    op.drop_index('ix_fct_mention_source_native', table_name='fct_mention')
    op.drop_index('ix_fct_mention_date', table_name='fct_mention')
    op.drop_table('fct_mention')
    op.drop_table('etl_quarantine')
    op.drop_table('etl_cursor')
    op.drop_table('etl_coverage')
    op.drop_table('etl_batch')
    op.drop_table('dim_source')
    op.drop_table('dim_date')
    op.drop_table('dim_brand')
    op.drop_table('dim_author')
    op.drop_index('ix_bridge_brand', table_name='bridge_mention_brand')
    op.drop_table('bridge_mention_brand')
