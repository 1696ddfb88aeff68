"""The package's own exceptions, shared by every layer."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the key and the problem."""


class PipelineError(RuntimeError):
    """A pipeline step cannot run as configured (a demo source without a demo server, ...)."""


class FailFast(RuntimeError):
    """A deterministic failure: retrying the task would fail the same way, so it should fail at once
    (and its failure alert go out immediately).

    The orchestration layer arranges that without this package importing Airflow: it calls
    :func:`fail_fast_with` with Airflow's ``AirflowFailException`` when it is imported, and from then
    on a raised ``BatchRejected`` (say) is a ``BatchRejectedUnderAirflow``, which is both.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> FailFast:
        if _fail_fast_base is not None and not issubclass(cls, _fail_fast_base):
            cls = _variant(cls, _fail_fast_base)
        return super().__new__(cls, *args, **kwargs)

    def __reduce__(self) -> Any:  # pickles (Airflow may ship exceptions between processes) as the plain class
        plain = next(c for c in type(self).__mro__ if c.__module__ == __name__ and not c.__name__.endswith("UnderAirflow"))
        return (plain, (str(self),))


class BatchRejected(FailFast):
    """The batch must not be loaded (schema drift, too many bad rows, counts that do not reconcile).

    ``outcome`` holds the row-level verdicts when there are any (a
    :class:`listening.quality.ValidationOutcome`), so the caller can still quarantine the bad
    rows of a rejected batch.
    """

    def __init__(self, message: str, outcome: Any = None):
        super().__init__(message)
        self.outcome = outcome


class SourcesFailed(FailFast):
    """Sources of an interval failed to crawl (the others loaded): the run must not end green."""


_fail_fast_base: type[BaseException] | None = None
_variants: dict[type, type] = {}


def _variant(cls: type, base: type[BaseException]) -> type:
    got = _variants.get(cls)
    if got is None or not issubclass(got, base):
        got = _variants[cls] = type(f"{cls.__name__}UnderAirflow", (cls, base),
                                    {"__module__": __name__, "__doc__": f"A {cls.__name__} that Airflow does not retry."})
    return got


def fail_fast_with(base: type[BaseException]) -> None:
    """Make every :class:`FailFast` raised from now on also an instance of ``base`` (idempotent)."""
    global _fail_fast_base
    _fail_fast_base = base
