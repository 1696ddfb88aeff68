"""A real Airflow on this machine: api-server (the UI and REST API), scheduler and dag-processor on
the LocalExecutor, with the demo sources served beside them (``make airflow`` / ``make airflow-stop``).

Every component gets the same environment (:func:`stack_env`): the executor, the metadata DB, the
execution API URL the task processes report to, a JWT secret and API secret key shared by all of
them (kept in ``$AIRFLOW_HOME/stack-secrets.json`` so a restart keeps sessions valid), the login
(SimpleAuthManager, ``admin`` and the password in ``$AIRFLOW_HOME/stack-passwords.json``), DAGs
unpaused at creation, and a heartbeat timeout short enough that a task whose process died is
retried within the recovery budget (``listening.orchestration.defaults``).  Each component runs in
a process group of its own; ``stop`` ends the groups (task processes included).  What runs is
recorded in ``$AIRFLOW_HOME/stack.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from listening.config import load_config
from listening.core.model import iso, local_day_bounds
from listening.core.settings import project_root

HEARTBEAT_TIMEOUT_S = 90  # a task whose process died is noticed after this (Airflow's default: 300)
COMPONENTS = ("api-server", "scheduler", "dag-processor")


@dataclass
class Stack:
    home: Path
    api_port: int = 8080
    demo_port: int = 8765
    host: str = "127.0.0.1"
    user: str = "admin"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def demo_url(self) -> str:
        return f"http://{self.host}:{self.demo_port}"

    @property
    def state_file(self) -> Path:
        return self.home / "stack.json"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _secrets(home: Path, user: str) -> tuple[dict[str, str], Path]:
    """The JWT secret and API key shared by every component, and the login file (created once)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "stack-secrets.json"
    if path.exists():
        got = json.loads(path.read_text(encoding="utf-8"))
    else:
        got = {"jwt_secret": secrets.token_hex(64), "secret_key": secrets.token_hex(32)}
        path.write_text(json.dumps(got), encoding="utf-8")
        path.chmod(0o600)
    passwords = home / "stack-passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({user: os.environ.get("LISTENING_AIRFLOW_PASSWORD") or user}),
                             encoding="utf-8")
        passwords.chmod(0o600)
    return got, passwords


def stack_env(stack: Stack) -> dict[str, str]:
    """The environment every component of the stack shares."""
    keys, passwords = _secrets(stack.home, stack.user)
    root = project_root()
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(stack.home),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
        or f"sqlite:///{stack.home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM") or "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{stack.api_url}/execution/",
        "AIRFLOW__API__HOST": stack.host,
        "AIRFLOW__API__PORT": str(stack.api_port),
        "AIRFLOW__API__BASE_URL": stack.api_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{stack.user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(stack.home / "logs"),
        "LISTENING_HOME": str(root),
        "LISTENING_DEMO_URL": stack.demo_url,
    })
    env.update(stack.extra_env)
    return env


def password(stack: Stack) -> str:
    return json.loads((stack.home / "stack-passwords.json").read_text(encoding="utf-8"))[stack.user]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(args, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _wait_healthy(stack: Stack, procs: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}: see {stack.home / 'logs' / (name + '.log')}")
        try:
            r = httpx.get(f"{stack.api_url}/api/v2/monitor/health", timeout=5)
            if r.status_code == 200 and r.json().get("scheduler", {}).get("status") == "healthy":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    raise TimeoutError(f"the Airflow stack was not healthy within {timeout:.0f}s: see {stack.home / 'logs'}")


def start(stack: Stack, timeout: float = 240) -> dict[str, Any]:
    """Migrate the metadata DB, apply airflow_settings.yaml, start the demo server and the components,
    wait until the API answers and the scheduler is healthy; returns what was started."""
    if stack.state_file.exists():
        stop(stack)
    env = stack_env(stack)
    logs = stack.home / "logs"
    subprocess.run([_bin("airflow"), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=600)
    subprocess.run([_bin("listening"), "airflow-settings", "apply", str(project_root() / "airflow_settings.yaml")],
                   env=env, check=True, stdout=subprocess.DEVNULL, timeout=300)
    procs = {"demo": _spawn([_bin("listening"), "demo", "serve", "--port", str(stack.demo_port)], env,
                            logs / "demo.log")}
    procs["api-server"] = _spawn([_bin("airflow"), "api-server", "-H", stack.host, "-p", str(stack.api_port)], env,
                                 logs / "api-server.log")
    procs["scheduler"] = _spawn([_bin("airflow"), "scheduler"], env, logs / "scheduler.log")
    procs["dag-processor"] = _spawn([_bin("airflow"), "dag-processor"], env, logs / "dag-processor.log")
    state = {"pids": {n: p.pid for n, p in procs.items()}, "api_url": stack.api_url, "demo_url": stack.demo_url,
             "user": stack.user}
    stack.state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
    try:
        _wait_healthy(stack, procs, timeout)
    except Exception:
        stop(stack)
        raise
    return state


def stop(stack: Stack, grace: float = 15) -> list[str]:
    """End every process group the stack started (their task processes included)."""
    if not stack.state_file.exists():
        return []
    state = json.loads(stack.state_file.read_text(encoding="utf-8"))
    stopped = []
    for name, pid in state.get("pids", {}).items():
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped.append(name)
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + grace
    for pid in state.get("pids", {}).values():
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    for pid in state.get("pids", {}).values():  # reap our own children
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    stack.state_file.unlink(missing_ok=True)
    return stopped


# ---- driving it through the REST API v2 ----------------------------------------------------------------
def api_client(stack: Stack, timeout: float = 30) -> httpx.Client:
    """A client of ``/api/v2`` with a bearer token from ``POST /auth/token``."""
    r = httpx.post(f"{stack.api_url}/auth/token", json={"username": stack.user, "password": password(stack)},
                   timeout=timeout)
    r.raise_for_status()
    return httpx.Client(base_url=f"{stack.api_url}/api/v2", timeout=timeout,
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})


def backfill_days(api: httpx.Client, first: date, days: int, tz: Any = None) -> list[str]:
    """Queue one ``ingest_mentions`` run per local day (a day-wide window in the run's params), through
    the scheduler: hourly runs would cost Airflow's per-task start-up 24 times a day.  Idempotent: a
    day already queued (run id ``day__<day>``) is not queued again.  Returns the run ids queued."""
    tz = tz or load_config().tz
    queued = []
    for i in range(days):
        day = first + timedelta(days=i)
        start, end = local_day_bounds(day, tz)
        run_id = f"day__{day.isoformat()}"  # "backfill__" is Airflow's own prefix
        r = api.post("/dags/ingest_mentions/dagRuns", json={
            "dag_run_id": run_id, "logical_date": None,
            "conf": {"window_start": iso(start), "window_end": iso(end)}})
        if r.status_code == 409:  # queued by an earlier start
            continue
        r.raise_for_status()
        queued.append(run_id)
    return queued
