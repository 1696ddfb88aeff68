"""The warehouse schema: a star schema in any SQLAlchemy database (SQLite by default, PostgreSQL tested).

Every table and column is described in ``docs/data_dictionary.md``.  In short:

* dimensions ``dim_date``, ``dim_brand`` (+ ``dim_brand_competitor``, ``dim_owned_account``),
  ``dim_source``, ``dim_author``
* facts ``fct_mention`` (one row per unique mention, natural key ``source_id`` + ``native_id``),
  ``bridge_mention_brand`` (mention x matched brand, with the matched terms), ``fct_interaction``
  (comments and replies under posts), ``fct_sales`` (daily sales / spend per brand)
* marts ``mart_*``, rebuilt per local day from ``sql/mart_*.sql`` (:mod:`listening.warehouse.marts`)
* audit ``etl_batch`` (one row per source and data interval), ``etl_quarantine``, ``etl_coverage``,
  ``etl_cursor``, ``etl_sales_file``

``metadata`` always describes the head revision of the Alembic migrations in
``warehouse/migrations`` (a test checks the migrations produce exactly it).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

dim_date = Table(
    "dim_date", metadata,
    Column("date_key", Integer, primary_key=True, comment="YYYYMMDD of the local day"),
    Column("date", Date, nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("day", Integer, nullable=False),
    Column("iso_year", Integer, nullable=False),
    Column("iso_week", Integer, nullable=False),
    Column("weekday", Integer, nullable=False, comment="1 = Monday ... 7 = Sunday"),
    Column("is_weekend", Boolean, nullable=False),
)

dim_brand = Table(
    "dim_brand", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("brand_name", String(200), nullable=False),
    Column("query", Text, nullable=False),
    Column("competitors", Text, nullable=False, comment="comma-separated brand ids"),
    Column("owned_accounts", Text, nullable=False, comment="comma-separated account names"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # revision 0002
    Column("goal", String(20), comment="awareness / reputation / sales (sales config); NULL = awareness"),
)

dim_source = Table(
    "dim_source", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

dim_author = Table(
    "dim_author", metadata,
    Column("author_key", String(200), primary_key=True, comment="source_id:author_id"),
    Column("source_id", String(40), nullable=False),
    Column("author_id", String(200), nullable=False),
    Column("author_name", Text),
    Column("followers", BigInteger),
    Column("verified", Boolean),
    Column("verified_type", Integer),
    Column("kol_tier", String(10), nullable=False, comment="mega / macro / micro / nano / none"),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
)

fct_mention = Table(
    "fct_mention", metadata,
    Column("mention_id", String(300), primary_key=True, comment="source_id:native_id"),
    Column("source_id", String(40), nullable=False),
    Column("native_id", String(250), nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False, comment="display text, original script"),
    Column("clean_text", Text, nullable=False, comment="what the sentiment model read"),
    Column("published_at", DateTime(timezone=True), nullable=False, comment="UTC"),
    Column("date_key", Integer, nullable=False, comment="local day (config timezone), FK dim_date"),
    Column("hour_local", Integer, nullable=False),
    Column("author_key", String(200)),
    Column("reposts", BigInteger, nullable=False),
    Column("comments", BigInteger, nullable=False),
    Column("likes", BigInteger, nullable=False),
    Column("engagement", BigInteger, nullable=False, comment="reposts + comments + likes"),
    Column("reach", BigInteger, nullable=False, comment="author followers at crawl time"),
    Column("is_repost", Boolean, nullable=False),
    Column("retweet_of", String(250)),
    Column("is_spam", Boolean, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("story_id", String(64), nullable=False),
    Column("sentiment", Float, comment="SnowNLP P(positive); NULL = no text to score"),
    Column("sentiment_label", String(10), nullable=False, comment="negative / neutral / positive / none"),
    Column("model_version", String(80)),
    Column("interval_key", String(40), nullable=False, comment="data interval that loaded it last"),
    Column("raw_ref", Text),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_fct_mention_date", "date_key"),
    Index("ix_fct_mention_source_native", "source_id", "native_id", unique=True),
    Index("ix_fct_mention_story", "story_id"),
    # revision 0002
    Index("ix_fct_mention_interval", "interval_key"),
)

bridge_mention_brand = Table(
    "bridge_mention_brand", metadata,
    Column("mention_id", String(300), primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("matched_terms", Text, nullable=False, comment="JSON list of query terms found"),
    Index("ix_bridge_brand", "brand_id"),
)

mart_brand_daily = Table(
    "mart_brand_daily", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("mentions", Integer, nullable=False),
    Column("unique_stories", Integer, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("neutral", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("unscored", Integer, nullable=False),
    Column("net_sentiment", Float, comment="(positive - negative) / mentions"),
    Column("avg_sentiment", Float),
    Column("engagement", BigInteger, nullable=False),
    Column("reach", BigInteger, nullable=False),
    Column("spam_excluded", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

etl_batch = Table(
    "etl_batch", metadata,
    Column("batch_id", String(120), primary_key=True, comment="source_id/interval_key"),
    Column("source_id", String(40), nullable=False),
    Column("interval_key", String(40), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, comment="loaded / failed / rejected"),
    Column("coverage", String(20), nullable=False, comment="complete / partial / capped / failed"),
    Column("fetched", Integer, nullable=False, comment="raw HTTP responses"),
    Column("parsed", Integer, nullable=False),
    Column("out_of_window", Integer, nullable=False),
    Column("unmatched", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("errors", Text, nullable=False, comment="JSON list"),
    Column("raw_key", Text),
    Column("attempts", Integer, nullable=False),
    Column("first_loaded_at", DateTime(timezone=True), nullable=False),
    Column("last_loaded_at", DateTime(timezone=True), nullable=False),
    # revision 0002
    Column("date_key", Integer, comment="local day (config timezone) of window_start"),
    Column("brand_links", Integer, comment="bridge_mention_brand rows written by the load"),
    Index("ix_etl_batch_date", "date_key"),
)

etl_quarantine = Table(
    "etl_quarantine", metadata,
    Column("interval_key", String(40), primary_key=True),
    Column("source_id", String(40), primary_key=True),
    Column("native_id", String(250), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("record", Text, nullable=False, comment="the mention as JSON"),
    Column("raw_ref", Text),
    Column("quarantined_at", DateTime(timezone=True), nullable=False),
    # revision 0002
    Column("stage", String(20), comment="raw / staged / sales: which gate stopped the row"),
)

etl_coverage = Table(
    "etl_coverage", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("interval_key", String(40), primary_key=True),
    Column("slice_no", Integer, primary_key=True),
    Column("slice_start", DateTime(timezone=True), nullable=False),
    Column("slice_end", DateTime(timezone=True), nullable=False),
    Column("query", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("items", Integer, nullable=False),
    Column("detail", Text, nullable=False),
)

etl_cursor = Table(
    "etl_cursor", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("cursor", Text, nullable=False, comment="JSON"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# ---- revision 0002: the BI model ---------------------------------------------------------------------
dim_brand_competitor = Table(
    "dim_brand_competitor", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("competitor_id", String(40), primary_key=True),
)

dim_owned_account = Table(
    "dim_owned_account", metadata,
    Column("brand_id", String(40), primary_key=True),
    Column("account_name", String(200), primary_key=True, comment="screen name of an official account"),
)

fct_interaction = Table(
    "fct_interaction", metadata,
    Column("interaction_id", String(300), primary_key=True, comment="source_id:native_id"),
    Column("source_id", String(40), nullable=False),
    Column("native_id", String(250), nullable=False, comment="comment id"),
    Column("mention_id", String(300), nullable=False, comment="the post commented on: source_id:status_id"),
    Column("status_id", String(250), nullable=False),
    Column("kind", String(20), nullable=False, comment="owned_reply / reply / comment"),
    Column("reply_to", String(250), comment="the comment it answers (inline replies)"),
    Column("text", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, comment="UTC"),
    Column("date_key", Integer, nullable=False, comment="local day (config timezone)"),
    Column("author_key", String(200)),
    Column("author_name", Text),
    Column("author_followers", BigInteger),
    Column("like_count", BigInteger, nullable=False),
    Column("is_owned_reply", Boolean, nullable=False),
    Column("owned_brand", String(40), comment="brand whose official account wrote it"),
    Column("sentiment", Float),
    Column("sentiment_label", String(10), nullable=False),
    Column("interval_key", String(40), nullable=False),
    Column("raw_ref", Text),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Index("ix_fct_interaction_mention", "mention_id"),
    Index("ix_fct_interaction_date", "date_key"),
)

fct_sales = Table(
    "fct_sales", metadata,
    Column("date_key", Integer, primary_key=True, comment="local day of the figures"),
    Column("brand_id", String(40), primary_key=True),
    Column("sales_amount", Float, comment="revenue in the drop's currency"),
    Column("units", BigInteger),
    Column("spend", Float, comment="campaign / media spend"),
    Column("currency", String(10)),
    Column("source_key", Text, nullable=False, comment="lake key of the drop file it came from"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

etl_sales_file = Table(
    "etl_sales_file", metadata,
    Column("file_key", String(500), primary_key=True, comment="lake key of the drop"),
    Column("sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False, comment="loaded / rejected"),
    Column("rows", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("first_date_key", Integer),
    Column("last_date_key", Integer),
    Column("errors", Text, nullable=False, comment="JSON list"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

mart_share_of_voice = Table(
    "mart_share_of_voice", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("competitors", Integer, nullable=False, comment="competitors in the brand's set"),
    Column("mentions", Integer, nullable=False),
    Column("competitor_mentions", Integer, nullable=False),
    Column("set_mentions", Integer, nullable=False, comment="brand + its competitors"),
    Column("share_of_voice", Float, comment="mentions / set_mentions"),
    Column("reach", BigInteger, nullable=False),
    Column("set_reach", BigInteger, nullable=False),
    Column("share_of_reach", Float),
    Column("positive", Integer, nullable=False),
    Column("set_positive", Integer, nullable=False),
    Column("share_of_positive", Float),
    Column("negative", Integer, nullable=False),
    Column("set_negative", Integer, nullable=False),
    Column("share_of_negative", Float),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_top_authors = Table(
    "mart_top_authors", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("author_key", String(200), primary_key=True),
    Column("author_name", Text),
    Column("kol_tier", String(10), nullable=False),
    Column("followers", BigInteger),
    Column("mentions", Integer, nullable=False),
    Column("reach_weighted_mentions", BigInteger, nullable=False, comment="sum of reach over the mentions"),
    Column("engagement", BigInteger, nullable=False),
    Column("positive", Integer, nullable=False),
    Column("negative", Integer, nullable=False),
    Column("net_sentiment", Float),
    Column("rank", Integer, nullable=False, comment="1 = most reach-weighted mentions that day for the brand"),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_hot_terms = Table(
    "mart_hot_terms", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("term", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("trailing_7d_avg", Float),
    Column("change", Float, comment="count / trailing_7d_avg - 1"),
    Column("built_at", DateTime(timezone=True)),
)

mart_alerts = Table(
    "mart_alerts", metadata,
    Column("alert_id", String(120), primary_key=True),
    Column("brand_id", String(40), nullable=False),
    Column("kind", String(40), nullable=False, comment="e.g. volume_spike, negative_spike"),
    Column("severity", String(20), nullable=False, comment="info / warning / critical"),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, comment="open / acknowledged / closed"),
    Column("payload", JSON, comment="the figures behind the alert"),
    Column("notified_at", DateTime(timezone=True)),
    Index("ix_mart_alerts_brand_status", "brand_id", "status"),
)

# ---- revision 0003: analysts' sentiment corrections -------------------------------------------------
sentiment_feedback = Table(
    "sentiment_feedback", metadata,
    Column("mention_id", String(300), primary_key=True, comment="fct_mention.mention_id"),
    Column("corrected_at", DateTime(timezone=True), primary_key=True, comment="UTC; the latest wins"),
    Column("label", String(10), nullable=False, comment="negative / neutral / positive"),
    Column("corrected_by", String(200), nullable=False),
    CheckConstraint("label IN ('negative', 'neutral', 'positive')", name="ck_sentiment_feedback_label"),
    comment="analysts' corrected sentiment labels; training data of the retrain_sentiment DAG",
)

mart_pipeline_health = Table(
    "mart_pipeline_health", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("interval_key", String(40), primary_key=True),
    Column("date_key", Integer, nullable=False, comment="local day of window_start"),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("coverage", String(20), nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("parsed", Integer, nullable=False),
    Column("loaded", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False),
    Column("quarantine_share", Float, comment="quarantined / (loaded + quarantined)"),
    Column("slices", Integer, nullable=False, comment="crawled slices (split ones excluded)"),
    Column("slices_complete", Integer, nullable=False),
    Column("coverage_ratio", Float, comment="slices_complete / slices"),
    Column("errors", Integer, nullable=False, comment="number of errors recorded"),
    Column("attempts", Integer, nullable=False),
    Column("last_loaded_at", DateTime(timezone=True), nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Index("ix_mart_pipeline_health_date", "date_key"),
)

mart_response = Table(
    "mart_response", metadata,
    Column("date_key", Integer, primary_key=True, comment="local day of the mention"),
    Column("brand_id", String(40), primary_key=True),
    Column("mentions", Integer, nullable=False, comment="non-spam mentions not written by owned accounts"),
    Column("mentions_replied", Integer, nullable=False, comment="... with at least one reply by the brand"),
    Column("one_to_one_rate", Float, comment="mentions_replied / mentions"),
    Column("negative_mentions", Integer, nullable=False),
    Column("negative_replied", Integer, nullable=False),
    Column("negative_awaiting", Integer, nullable=False),
    Column("negative_reply_rate", Float, comment="negative_replied / negative_mentions"),
    Column("median_first_reply_s", Float, comment="median seconds from a negative mention to the first reply"),
    Column("owned_replies", Integer, nullable=False),
    Column("user_comments", Integer, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

mart_brand_kpi = Table(
    "mart_brand_kpi", metadata,
    Column("date_key", Integer, primary_key=True),
    Column("brand_id", String(40), primary_key=True),
    Column("goal", String(20), nullable=False),
    Column("mentions", Integer, nullable=False),
    Column("reach", BigInteger, nullable=False),
    Column("engagement", BigInteger, nullable=False),
    Column("share_of_voice", Float),
    Column("net_sentiment", Float),
    Column("avg_sentiment", Float),
    Column("negative", Integer, nullable=False),
    Column("sales_amount", Float),
    Column("units", BigInteger),
    Column("spend", Float),
    Column("kpi_1_name", String(40), nullable=False),
    Column("kpi_1_value", Float),
    Column("kpi_2_name", String(40), nullable=False),
    Column("kpi_2_value", Float),
    Column("kpi_3_name", String(40)),
    Column("kpi_3_value", Float),
    Column("kpi_1_per_spend", Float, comment="kpi_1_value / spend: output per unit of input"),
    Column("sales_per_mention", Float),
    Column("spend_per_1k_reach", Float),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

FACT_COLUMNS = [c.name for c in fct_mention.columns]
#: what a BI role may read (``grant_readonly``): dimensions, facts and marts, never the audit tables
BI_TABLE_PREFIXES = ("dim_", "fct_", "bridge_", "mart_")

__all__ = ["BI_TABLE_PREFIXES", "FACT_COLUMNS", "metadata", *sorted(metadata.tables)]
