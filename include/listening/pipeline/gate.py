"""The ``quality_gate`` task: the run fails, after the other sources loaded, when a source was lost:
stopped by its raw quality gate (schema drift) or failed to crawl.  Never a green run with a lost source."""

from __future__ import annotations

from typing import Any

from listening.core.errors import BatchRejected, SourcesFailed


def quality_gate(loaded: dict[str, Any]) -> dict[str, Any]:
    """Fail (no retries: the alert goes out at once) when the load stopped a source whose raw
    records drifted from their schema, or a source's crawl failed; the other sources of the
    interval are loaded by then, and the load's asset event has already triggered the marts."""
    loaded = loaded or {}
    interval = loaded.get("interval")
    rejected = loaded.get("rejected_sources") or {}
    failed = loaded.get("failed_sources") or {}
    also = (f"; crawl failed: {', '.join(f'{s} ({why})' for s, why in sorted(failed.items()))}" if failed else "")
    if rejected:
        raise BatchRejected(f"{'; '.join(rejected.values())} (interval {interval}: "
                            f"{', '.join(sorted(rejected))} rejected and quarantined, the other sources loaded){also}")
    if failed:
        raise SourcesFailed(f"interval {interval}: {len(failed)} source(s) failed to crawl, the other sources loaded: "
                            + "; ".join(f"{s}: {why}" for s, why in sorted(failed.items())))
    return {"interval": interval, "rejected_sources": {}, "failed_sources": {}}
