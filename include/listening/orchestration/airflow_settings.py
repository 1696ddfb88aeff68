"""``airflow_settings.yaml`` (the Astro CLI schema: connections, pools, variables) applied to the
Airflow metadata DB, idempotently.  Entries removed from the file since the last apply are removed
from Airflow too; every enabled source's crawl pool exists afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from listening.config import Config


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
