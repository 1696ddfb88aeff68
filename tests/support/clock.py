"""A stand-in for ``time.sleep`` that records what it was asked to sleep (retry and politeness tests)."""

from __future__ import annotations


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)
