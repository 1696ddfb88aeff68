"""Airflow connections -> the package's settings.

:func:`resolve_settings` turns environment variables and Airflow connections into
:class:`listening.core.settings.Settings` (warehouse URL, lake URL and S3 keys, per-source
cookies/headers).  Order: ``LISTENING_*`` env var, then the Airflow connection, then the embedded
default.  Also the SMTP connection (``listening_smtp``) and the alert webhook (``listening_webhook``).
Airflow's ``Connection`` is imported inside :func:`get_connection`, which answers None where the
task SDK is not available.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlencode

from listening.config import Config
from listening.core.settings import Settings, default_lake_url, default_warehouse_url, env
from listening.delivery.notify import Webhook
from listening.warehouse.engine import normalise_url

log = logging.getLogger(__name__)

WAREHOUSE_CONN = "listening_warehouse"
LAKE_CONN = "listening_lake"
SMTP_CONN = "listening_smtp"
_URL_KEYS = {"url", "webhook_url", "format", "secret", "timeout", "scheme", "headers"}


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
    if env("LISTENING_WAREHOUSE_URL"):
        return env("LISTENING_WAREHOUSE_URL")
    conn = get_connection(WAREHOUSE_CONN)
    if conn is not None:
        extra = _extra(conn)
        if extra.get("sqlalchemy_url"):
            return str(extra["sqlalchemy_url"])
        return normalise_url(conn.get_uri())
    return default_warehouse_url()


def lake_settings() -> tuple[str, dict[str, Any]]:
    """(lake URL, boto3 client kwargs) from LISTENING_LAKE_URL / the aws connection ``listening_lake``."""
    url = env("LISTENING_LAKE_URL")
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


def webhook_from_connection(conn: Any) -> Webhook | None:
    extra = _extra(conn)
    url = extra.get("url") or extra.get("webhook_url")
    if not url:
        if not getattr(conn, "host", None):
            return None
        ctype = (getattr(conn, "conn_type", None) or "").lower()
        scheme = extra.get("scheme") or (ctype if ctype in ("http", "https") else "https")
        host = conn.host
        if "://" in host:  # a whole URL pasted into the host field
            scheme, host = host.split("://", 1)
        url = f"{scheme}://{host.rstrip('/')}"
        if getattr(conn, "port", None):
            url += f":{conn.port}"
        if getattr(conn, "schema", None):
            url += "/" + conn.schema.lstrip("/")
        query = {k: v for k, v in extra.items() if k not in _URL_KEYS}
        if query:
            url += ("&" if "?" in url else "?") + urlencode(query)
    if not re.match(r"^https?://", url):
        raise ValueError("webhook connection: the URL must start with http:// or https://")
    fmt = str(extra.get("format") or ("dingtalk" if "dingtalk" in url else "slack")).lower()
    if fmt not in ("slack", "dingtalk"):
        raise ValueError(f"webhook connection: format must be 'slack' or 'dingtalk', got {fmt!r}")
    secret = extra.get("secret") or getattr(conn, "password", None) or None
    headers = tuple((str(k), str(v)) for k, v in dict(extra.get("headers") or {}).items())
    return Webhook(url, fmt, secret, float(extra.get("timeout", 10)), headers)


def webhook_settings(conn_id: str) -> Webhook | None:
    """The alert webhook of the Airflow connection ``conn_id`` (brands.yaml ``alerts.channels.webhook_connection``)."""
    conn = get_connection(conn_id)
    return webhook_from_connection(conn) if conn is not None else None
