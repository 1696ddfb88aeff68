"""The ``quality_gate`` task: fail the run when the load stopped a source whose raw records drifted."""

from __future__ import annotations

from typing import Any

from listening.core.errors import BatchRejected


def quality_gate(loaded: dict[str, Any]) -> dict[str, Any]:
    """Fail (no retries: the alert goes out at once) when the load stopped a source whose raw
    records drifted from their schema; the other sources of the interval are loaded by then,
    and the load's asset event has already triggered the marts."""
    rejected = (loaded or {}).get("rejected_sources") or {}
    if rejected:
        raise BatchRejected(f"{'; '.join(rejected.values())} (interval {loaded.get('interval')}: "
                            f"{', '.join(sorted(rejected))} rejected and quarantined, the other sources loaded)")
    return {"interval": (loaded or {}).get("interval"), "rejected_sources": {}}
