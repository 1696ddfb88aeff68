"""Running Great Expectations (GX Core 1.x) suites on DataFrames, with Data Docs written to the lake.

Suites are JSON in ``include/gx/expectations``.  ``great_expectations`` and ``pandas`` are imported
inside the functions: they cost seconds and must never load at DAG-parse time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from listening.core.model import Window
from listening.core.settings import project_root

log = logging.getLogger(__name__)

#: Data Docs assets left out of the lake copy (decorative, 4 MB per validation)
_DOCS_SKIP = ("static/fonts/", "static/images/")


def suites_dir() -> Path:
    return project_root() / "include" / "gx" / "expectations"


def load_suite(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or suites_dir()) / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"expectation suite not found: {path}") from None


@dataclass
class DocsTarget:
    """Where a validation's Data Docs go: ``lake`` (a :class:`listening.lake.Lake`) under ``prefix``."""

    lake: Any
    prefix: str

    def index_key(self) -> str:
        return f"{self.prefix.rstrip('/')}/index.html"


def docs_prefix(window_or_key: Window | str, stage: str) -> str:
    key = window_or_key.key if isinstance(window_or_key, Window) else window_or_key
    return f"docs/gx/{key}/{stage}"


def expectation_label(cfg: Any) -> str:
    kw = cfg.kwargs
    meta = cfg.meta or {}
    if meta.get("reason"):
        return str(meta["reason"])
    col = kw.get("column")
    return f"{cfg.type}({col})" if col else cfg.type


def import_gx() -> Any:
    """Import GX quietly (no usage statistics, no progress bars); costs 3-7 s the first time."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics calls home
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in task logs
    import great_expectations as gx

    _share_data_docs_templates()
    return gx


_SHARED_ENVS: dict[tuple[Any, ...], Any] = {}


def _share_data_docs_templates() -> None:
    """Compile GX's Data Docs templates once per process instead of once per page.

    Each ``DefaultJinjaView`` builds a new Jinja ``Environment``, so every Data Docs build
    recompiled the same ~50 templates (0.3 s per validation, measured).  Views of one class
    and the same custom directories hold no other state, so they can share one environment.
    """
    from great_expectations.render.view import view as gx_view

    base = gx_view.DefaultJinjaView
    if getattr(base, "_listening_shared_env", False):
        return
    original = base.__init__

    def __init__(self: Any, custom_styles_directory: Any = None, custom_views_directory: Any = None) -> None:
        key = (type(self), custom_styles_directory, custom_views_directory)
        env = _SHARED_ENVS.get(key)
        if env is None:
            original(self, custom_styles_directory, custom_views_directory)
            _SHARED_ENVS[key] = self.env
            return
        self.custom_styles_directory = custom_styles_directory
        self.custom_views_directory = custom_views_directory
        self.env = env

    base.__init__ = __init__  # type: ignore[method-assign]
    base._listening_shared_env = True  # type: ignore[attr-defined]


def run_suites(frames: list[tuple[dict[str, Any], Any]], params: dict[str, Any],
               docs: DocsTarget | None = None) -> dict[str, list[Any]]:
    """Validate each (suite JSON, DataFrame) in one ephemeral GX context; write Data Docs when asked.

    Returns the expectation results per suite name.
    """
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    site_dir = None
    if docs is not None:
        site_dir = tempfile.mkdtemp(prefix="listening-gx-docs-")
        ctx.add_data_docs_site("lake", {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": site_dir},
        })
    source = ctx.data_sources.add_pandas("listening")
    out: dict[str, list[Any]] = {}
    try:
        for suite_json, df in frames:
            name = suite_json["name"]
            batch_def = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("interval")
            suite = ctx.suites.add(gx.ExpectationSuite(**suite_json))
            vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
            actions = [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["lake"])] if docs is not None else []
            cp = ctx.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[vd], actions=actions,
                                                   result_format={"result_format": "COMPLETE"}))
            res = cp.run(batch_parameters={"dataframe": df}, expectation_parameters=params)
            out[name] = [r for run in res.run_results.values() for r in run.results]
        if docs is not None and site_dir is not None:
            _upload_site(Path(site_dir), docs)
    finally:
        if site_dir is not None:
            shutil.rmtree(site_dir, ignore_errors=True)
    return out


def _upload_site(site: Path, docs: DocsTarget) -> None:
    n = 0
    for p in sorted(site.rglob("*")):
        rel = p.relative_to(site).as_posix()
        if not p.is_file() or rel.startswith(_DOCS_SKIP):
            continue
        docs.lake.put(f"{docs.prefix.rstrip('/')}/{rel}", p.read_bytes())
        n += 1
    log.info("GX Data Docs: %d files at %s", n, docs.lake.uri(docs.index_key()))


def result_summaries(suite_name: str, results: list[Any]) -> list[dict[str, Any]]:
    out = []
    for res in results:
        idx = list(res.result.get("unexpected_index_list") or [])
        out.append({"suite": suite_name, "expectation": expectation_label(res.expectation_config),
                    "success": bool(res.success), "unexpected": len(idx)})
    return out
