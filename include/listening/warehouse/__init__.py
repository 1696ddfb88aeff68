"""The warehouse: schema and migrations, dimensions and cursors, the bulk load, marts, hot terms, BI access.

| module | job |
|---|---|
| ``schema`` | the tables (``metadata`` = the head revision) |
| ``engine`` | URLs, engines, Alembic migrations (``migrations/``) |
| ``dimensions`` | ``upsert``, ``dim_*`` following the config, ``dim_date``, crawl cursors |
| ``load`` | the bulk load of an interval's facts, bridges, authors, audit rows; interactions |
| ``marts`` | ``sql/mart_*.sql`` rebuilt per local day |
| ``hotterms`` | ``mart_hot_terms`` |
| ``feedback`` | analysts' sentiment corrections (``sentiment_feedback``) |
| ``access`` | the read-only BI role |

``from listening import warehouse as wh`` gives the tables and the functions of ``schema``,
``engine``, ``dimensions``, ``marts`` and ``access`` (the other modules are imported by name).
"""

from __future__ import annotations

from listening.core.model import date_key, local_day_bounds
from listening.core.settings import default_warehouse_url
from listening.warehouse.access import bi_tables, grant_readonly
from listening.warehouse.dimensions import (
    ensure_dates,
    get_cursor,
    get_cursor_conn,
    kol_tier,
    model_utc,
    save_cursor,
    sync_dimensions,
    upsert,
)
from listening.warehouse.engine import (
    BASELINE_REVISION,
    MIGRATIONS_DIR,
    _at_head,  # noqa: F401 - the migration cache, for tests
    alembic_config,
    create_schema,
    current_revision,
    get_engine,
    head_revision,
    normalise_url,
    now_utc,
    upgrade,
)
from listening.warehouse.marts import (
    MART_FILES,
    build_marts,
    mart_statements,
    render_sql,
    sql_dir,
    table_counts,
)
from listening.warehouse.schema import *  # noqa: F403 - every table (schema.__all__)
from listening.warehouse.schema import BI_TABLE_PREFIXES, FACT_COLUMNS, metadata

__all__ = [  # noqa: RUF022 - grouped by module
    "date_key", "local_day_bounds", "default_warehouse_url", "bi_tables", "grant_readonly", "ensure_dates",
    "get_cursor", "get_cursor_conn", "kol_tier", "model_utc", "save_cursor", "sync_dimensions", "upsert",
    "BASELINE_REVISION", "MIGRATIONS_DIR", "alembic_config", "create_schema", "current_revision", "get_engine",
    "head_revision", "normalise_url", "now_utc", "upgrade", "MART_FILES", "build_marts", "mart_statements",
    "render_sql", "sql_dir", "table_counts", "BI_TABLE_PREFIXES", "FACT_COLUMNS", "metadata",
    *[t for t in metadata.tables],
]
