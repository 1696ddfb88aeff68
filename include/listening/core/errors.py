"""The package's own exceptions, shared by every layer."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the key and the problem."""


class PipelineError(RuntimeError):
    """A pipeline step cannot run as configured (a demo source without a demo server, ...)."""


class BatchRejected(RuntimeError):
    """The batch must not be loaded (schema drift, too many bad rows, counts that do not reconcile).

    ``outcome`` holds the row-level verdicts when there are any (a
    :class:`listening.quality.ValidationOutcome`), so the caller can still quarantine the bad
    rows of a rejected batch.

    A rejected batch is deterministic, so its task should fail at once -- no retries
    re-validating the same files -- and the failure alert should go out immediately.  The
    orchestration layer arranges that without this package importing Airflow: it calls
    :func:`fail_fast_with` with Airflow's ``AirflowFailException`` when it is imported, and from
    then on a raised ``BatchRejected`` is a ``BatchRejectedUnderAirflow``, which is both.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> BatchRejected:
        if cls is BatchRejected and _fail_fast_variant is not None:
            cls = _fail_fast_variant
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, message: str, outcome: Any = None):
        super().__init__(message)
        self.outcome = outcome

    def __reduce__(self) -> Any:  # pickles (Airflow may ship exceptions between processes), without outcome
        return (BatchRejected, (str(self),))


_fail_fast_variant: type[BatchRejected] | None = None


def fail_fast_with(base: type[BaseException]) -> type[BatchRejected]:
    """Make every ``BatchRejected`` raised from now on also an instance of ``base`` (idempotent)."""
    global _fail_fast_variant
    if _fail_fast_variant is None or not issubclass(_fail_fast_variant, base):
        _fail_fast_variant = type("BatchRejectedUnderAirflow", (BatchRejected, base),
                                  {"__module__": __name__,
                                   "__doc__": "A BatchRejected that Airflow does not retry."})
    return _fail_fast_variant


def fail_fast_variant() -> type[BatchRejected] | None:
    """The class a raised ``BatchRejected`` becomes, when :func:`fail_fast_with` was called."""
    return _fail_fast_variant
