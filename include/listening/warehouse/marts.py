"""The marts: ``sql/mart_*.sql`` rendered for the dialect and rebuilt per local day, in one transaction."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.engine import Engine

from listening.core.settings import project_root
from listening.warehouse.engine import create_schema, now_utc
from listening.warehouse.schema import metadata


def sql_dir() -> str:
    return str(project_root() / "sql")


#: in dependency order: share of voice and the KPI mart read mart_brand_daily
MART_FILES = [
    "mart_brand_daily.sql",
    "mart_share_of_voice.sql",
    "mart_top_authors.sql",
    "mart_response.sql",
    "mart_pipeline_health.sql",
    "mart_brand_kpi.sql",
]

# The few dialect-specific expressions of the mart SQL, written {{ name(arg) }} in sql/*.sql.
_MACROS: dict[str, dict[str, str]] = {
    "epoch": {  # seconds since 1970 of a timestamp column
        "sqlite": "((julianday({0}) - 2440587.5) * 86400.0)",
        "postgresql": "EXTRACT(EPOCH FROM {0})",
        "snowflake": "DATE_PART(epoch_second, {0})",
        "bigquery": "UNIX_SECONDS({0})",
        "redshift": "EXTRACT(EPOCH FROM {0})",
        "mysql": "UNIX_TIMESTAMP({0})",
    },
    "ident": {  # a column name that is a keyword somewhere (rank, count)
        "sqlite": '"{0}"', "postgresql": '"{0}"', "snowflake": '"{0}"', "redshift": '"{0}"',
        "bigquery": "`{0}`", "mysql": "`{0}`",
    },
    "json_len": {  # number of elements of a JSON array stored as text
        "sqlite": "json_array_length({0})",
        "postgresql": "json_array_length(CAST({0} AS json))",
        "snowflake": "ARRAY_SIZE(PARSE_JSON({0}))",
        "bigquery": "ARRAY_LENGTH(JSON_QUERY_ARRAY({0}))",
        "redshift": "JSON_ARRAY_LENGTH({0})",
        "mysql": "JSON_LENGTH({0})",
    },
}
_MACRO_RE = re.compile(r"\{\{\s*(\w+)\((.*?)\)\s*\}\}")


def render_sql(sql: str, dialect: str) -> str:
    """Expand the ``{{ epoch(col) }}``, ``{{ json_len(col) }}`` and ``{{ ident(name) }}`` macros for a dialect."""
    def expand(m: re.Match[str]) -> str:
        name, arg = m.group(1), m.group(2).strip()
        forms = _MACROS.get(name)
        if forms is None:
            raise ValueError(f"unknown SQL macro {name!r}")
        form = forms.get(dialect) or forms["postgresql"]
        return form.format(arg)

    return _MACRO_RE.sub(expand, sql)


def mart_statements(name: str, dialect: str) -> list[str]:
    with open(os.path.join(sql_dir(), name), encoding="utf-8") as fh:
        return _split_sql(render_sql(fh.read(), dialect))


def build_marts(engine: Engine, start_key: int | None = None, end_key: int | None = None,
                only: Sequence[str] | None = None) -> dict[str, int]:
    """Rebuild the marts for local days [start_key, end_key] (all days when None), in one transaction.

    ``only`` restricts the rebuild to some of :data:`MART_FILES` (kept in their order).
    Returns the row count of every ``mart_*`` table afterwards.
    """
    create_schema(engine)
    lo = start_key if start_key is not None else 0
    hi = end_key if end_key is not None else 99991231
    params = {"start_key": lo, "end_key": hi, "built_at": now_utc()}
    unknown = sorted(set(only or ()) - set(MART_FILES))
    if unknown:
        raise ValueError(f"unknown mart file(s) {unknown}; known: {MART_FILES}")
    with engine.begin() as conn:
        for name in [m for m in MART_FILES if only is None or m in only]:
            for stmt in mart_statements(name, conn.dialect.name):
                sql = text(stmt)
                if ":built_at" in stmt:  # stored like every other timestamp of the dialect
                    sql = sql.bindparams(bindparam("built_at", type_=DateTime(timezone=True)))
                conn.execute(sql, {k: v for k, v in params.items() if f":{k}" in stmt})
        return {
            t: conn.execute(select(func.count()).select_from(metadata.tables[t])).scalar_one()
            for t in sorted(metadata.tables) if t.startswith("mart_")
        }


def _split_sql(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def table_counts(engine: Engine) -> dict[str, int]:
    create_schema(engine)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for name, t in metadata.tables.items()
        }
