"""The quality gates: Great Expectations suites on the raw pages, the staged mentions and the loaded interval.

| module | job |
|---|---|
| ``gates`` | the three gates (:func:`validate_raw`, :func:`validate_batch`, :func:`validate_loaded`) |
| ``gx`` | running suites in an ephemeral GX context, Data Docs to the lake |
"""

from __future__ import annotations

from listening.core.errors import BatchRejected
from listening.quality.gates import (
    RECONCILE_COLUMNS,
    REQUIRED_MENTION_COLUMNS,
    RawInput,
    RawOutcome,
    ValidationOutcome,
    validate_batch,
    validate_loaded,
    validate_raw,
)
from listening.quality.gx import DocsTarget, docs_prefix, import_gx, load_suite, run_suites, suites_dir

__all__ = ["RECONCILE_COLUMNS", "REQUIRED_MENTION_COLUMNS", "BatchRejected", "DocsTarget", "RawInput", "RawOutcome",
           "ValidationOutcome", "docs_prefix", "import_gx", "load_suite", "run_suites", "suites_dir", "validate_batch",
           "validate_loaded", "validate_raw"]
