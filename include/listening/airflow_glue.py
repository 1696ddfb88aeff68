"""The only module of the package that imports Airflow (and only inside functions).

* :func:`resolve_settings` turns environment variables and Airflow connections into
  :class:`listening.pipeline.Settings` (warehouse URL, lake URL and S3 keys, per-source
  cookies/headers).  Order: ``LISTENING_*`` env var, then the Airflow connection, then the
  embedded default.
* :func:`apply_settings_file` applies ``airflow_settings.yaml`` (the Astro CLI schema:
  connections, pools, variables) to the Airflow metadata DB, idempotently.  Entries
  removed from the file since the last apply are removed from Airflow too.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from listening.config import Config
from listening.lake import default_lake_url
from listening.pipeline import Settings
from listening.warehouse import default_warehouse_url, normalise_url

log = logging.getLogger(__name__)

WAREHOUSE_CONN = "listening_warehouse"
LAKE_CONN = "listening_lake"
SMTP_CONN = "listening_smtp"
RECIPIENTS_VAR = "listening_report_recipients"


def get_connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined (or Airflow is not installed)."""
    try:
        from airflow.sdk import Connection
    except ImportError:  # the package also runs without Airflow
        return None
    try:
        return Connection.get(conn_id)
    except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and friends: not configured
        log.debug("connection %s not available: %s", conn_id, exc)
        return None


def _extra(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        raw = getattr(conn, "extra", None) or "{}"
        extra = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return dict(extra or {})


def warehouse_url() -> str:
    if os.environ.get("LISTENING_WAREHOUSE_URL"):
        return os.environ["LISTENING_WAREHOUSE_URL"]
    conn = get_connection(WAREHOUSE_CONN)
    if conn is not None:
        extra = _extra(conn)
        if extra.get("sqlalchemy_url"):
            return str(extra["sqlalchemy_url"])
        return normalise_url(conn.get_uri())
    return default_warehouse_url()


def lake_settings() -> tuple[str, dict[str, Any]]:
    """(lake URL, boto3 client kwargs) from LISTENING_LAKE_URL / the aws connection ``listening_lake``."""
    url = os.environ.get("LISTENING_LAKE_URL")
    kwargs: dict[str, Any] = {}
    conn = get_connection(LAKE_CONN)
    if conn is not None:
        extra = _extra(conn)
        url = url or extra.get("lake_url")
        if extra.get("endpoint_url"):
            kwargs["endpoint_url"] = extra["endpoint_url"]
        if extra.get("region_name"):
            kwargs["region_name"] = extra["region_name"]
        if conn.login:
            kwargs["aws_access_key_id"] = conn.login
        if conn.password:
            kwargs["aws_secret_access_key"] = conn.password
    return url or default_lake_url(), kwargs


def source_auth(config: Config) -> dict[str, dict[str, Any]]:
    """Per-source headers and cookies from the source's Airflow connection (extra: headers, cookies)."""
    out: dict[str, dict[str, Any]] = {}
    for s in config.sources:
        if not s.connection:
            continue
        conn = get_connection(s.connection)
        if conn is None:
            raise RuntimeError(f"source {s.id!r} names the Airflow connection {s.connection!r}, which is not defined")
        extra = _extra(conn)
        cookies = extra.get("cookies") or {}
        if isinstance(cookies, str):  # "a=1; b=2" as copied from a browser
            cookies = dict(p.strip().split("=", 1) for p in cookies.split(";") if "=" in p)
        out[s.id] = {"headers": dict(extra.get("headers") or {}), "cookies": dict(cookies)}
    return out


def resolve_settings(config: Config) -> Settings:
    lake_url, s3_kwargs = lake_settings()
    return Settings(
        warehouse_url=warehouse_url(),
        lake_url=lake_url,
        s3_client_kwargs=s3_kwargs,
        source_auth=source_auth(config),
    )


def smtp_settings() -> dict[str, Any] | None:
    """The SMTP connection ``listening_smtp`` as a dict, or None when it is not configured."""
    conn = get_connection(SMTP_CONN)
    if conn is None or not conn.host:
        return None
    extra = _extra(conn)
    return {
        "host": conn.host,
        "port": int(conn.port or 25),
        "login": conn.login or None,
        "password": conn.password or None,
        "from_email": extra.get("from_email") or "listening@localhost",
        "starttls": bool(extra.get("starttls", False)),
        "ssl": bool(extra.get("ssl", False)),
        "timeout": float(extra.get("timeout", 30)),
    }


def report_recipients() -> list[str]:
    raw = os.environ.get("LISTENING_REPORT_RECIPIENTS")
    if raw is None:
        try:
            from airflow.sdk import Variable

            raw = Variable.get(RECIPIENTS_VAR, default="")
        except Exception:  # noqa: BLE001 - not running under Airflow, or no variable
            raw = ""
    return [r.strip() for r in str(raw).replace(";", ",").split(",") if r.strip()]


# ---- airflow_settings.yaml ---------------------------------------------------------------------------
class SettingsFileError(ValueError):
    pass


def read_settings_file(path: str | os.PathLike[str]) -> dict[str, list[dict[str, Any]]]:
    """Parse and check an Astro-style airflow_settings.yaml."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsFileError(f"{p}: not found") from None
    except yaml.YAMLError as exc:
        raise SettingsFileError(f"{p}: not valid YAML: {exc}") from None
    af = doc.get("airflow") if isinstance(doc, dict) else None
    if af is None:
        raise SettingsFileError(f"{p}: expected a top-level 'airflow:' mapping")
    out: dict[str, list[dict[str, Any]]] = {"connections": [], "pools": [], "variables": []}
    required = {"connections": "conn_id", "pools": "pool_name", "variables": "variable_name"}
    for section, key in required.items():
        items = af.get(section) or []
        if not isinstance(items, list):
            raise SettingsFileError(f"{p}: airflow.{section}: expected a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get(key):
                raise SettingsFileError(f"{p}: airflow.{section}[{i}]: '{key}' is required")
            out[section].append(item)
    return out


def source_pools(config: Config) -> dict[str, list[str]]:
    """Airflow pool -> the enabled sources that crawl in it (see ``Source.crawl_pool``)."""
    out: dict[str, list[str]] = {}
    for s in config.enabled_sources:
        out.setdefault(s.crawl_pool, []).append(s.id)
    return out


def apply_settings_file(path: str | os.PathLike[str], state_file: str | os.PathLike[str] | None = None,
                        config: Config | None = None) -> dict[str, int]:
    """Create or update the connections, pools and variables of the file in the Airflow DB.

    What a previous apply created and the file no longer lists is deleted (tracked in
    ``state_file``, default ``$AIRFLOW_HOME/.listening_settings_state.json``).  With ``config``, the
    crawl pool of every enabled source that the file does not declare is created with one slot
    (a pool that already exists keeps its slots), so a new source never waits on a missing pool.
    """
    from airflow.models import Connection, Variable
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    spec = read_settings_file(path)
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    state_path = Path(state_file) if state_file else home / ".listening_settings_state.json"
    previous = json.loads(state_path.read_text()) if state_path.exists() else {}
    counts = {"connections": 0, "pools": 0, "variables": 0, "removed": 0}
    with create_session() as session:
        for c in spec["connections"]:
            extra = c.get("conn_extra")
            if isinstance(extra, dict):
                extra = json.dumps(extra)
            fields = {
                "conn_type": c.get("conn_type") or "generic",
                "host": c.get("conn_host"),
                "login": c.get("conn_login"),
                "password": c.get("conn_password"),
                "schema": c.get("conn_schema"),
                "port": int(c["conn_port"]) if c.get("conn_port") not in (None, "") else None,
                "extra": extra or None,
                "description": c.get("conn_description"),
            }
            existing = session.query(Connection).filter(Connection.conn_id == c["conn_id"]).one_or_none()
            if existing is None:
                session.add(Connection(conn_id=c["conn_id"], **fields))
            else:
                for k, v in fields.items():
                    setattr(existing, k, v)
            counts["connections"] += 1
        for pl in spec["pools"]:
            Pool.create_or_update_pool(
                name=pl["pool_name"], slots=int(pl.get("pool_slot", 1)),
                description=pl.get("pool_description") or "", include_deferred=False, session=session,
            )
            counts["pools"] += 1
        declared = {p["pool_name"] for p in spec["pools"]}
        auto = {name: ids for name, ids in (source_pools(config) if config else {}).items() if name not in declared}
        for name, ids in auto.items():
            if session.query(Pool).filter(Pool.pool == name).one_or_none() is None:
                Pool.create_or_update_pool(name=name, slots=1, description=f"crawls of {', '.join(ids)} (brands.yaml)",
                                           include_deferred=False, session=session)
            counts["pools"] += 1
        for v in spec["variables"]:
            value = v.get("variable_value")
            if not isinstance(value, str):
                value = json.dumps(value)
            Variable.set(v["variable_name"], value, description=v.get("variable_description"), session=session)
            counts["variables"] += 1
        now = {
            "connections": [c["conn_id"] for c in spec["connections"]],
            "pools": [p["pool_name"] for p in spec["pools"]] + sorted(auto),
            "variables": [v["variable_name"] for v in spec["variables"]],
        }
        for cid in set(previous.get("connections", [])) - set(now["connections"]):
            session.query(Connection).filter(Connection.conn_id == cid).delete()
            counts["removed"] += 1
        for name in set(previous.get("pools", [])) - set(now["pools"]):
            if name != Pool.DEFAULT_POOL_NAME:
                session.query(Pool).filter(Pool.pool == name).delete()
                counts["removed"] += 1
        for key in set(previous.get("variables", [])) - set(now["variables"]):
            Variable.delete(key, session=session)
            counts["removed"] += 1
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(now, indent=2))
    return counts
