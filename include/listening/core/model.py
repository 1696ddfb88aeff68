"""The canonical records that flow between pipeline steps: Mention, Window, and local days.

A local day (of the configured time zone) is identified everywhere by its ``date_key``, the
integer ``YYYYMMDD``: :func:`date_key` and :func:`key_to_date` are the only conversions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any


def utc(dt: datetime) -> datetime:
    """An aware UTC stdlib ``datetime`` (naive input is taken as UTC).

    Subclasses become plain datetimes: the scheduler passes data intervals as pendulum DateTimes,
    and pendulum drops the zone on ``- timedelta`` when it is stdlib UTC, so a window computed from
    one would turn naive (and compare with aware values, or convert via the host's zone, wrongly).
    """
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    if type(dt) is not datetime:
        dt = datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond, tzinfo=UTC)
    return dt


def iso(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s: str) -> datetime:
    return utc(datetime.fromisoformat(s.replace("Z", "+00:00")))


def date_key(d: date | datetime) -> int:
    """``YYYYMMDD`` of a day (a datetime gives its own calendar day: convert to local time first)."""
    return d.year * 10000 + d.month * 100 + d.day


def key_to_date(key: int) -> date:
    """The day of a ``date_key``."""
    return date(key // 10000, key // 100 % 100, key % 100)


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a local day."""
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """A half-open UTC interval [start, end): the DAG run's data interval."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"window end {iso(self.end)} must be after start {iso(self.start)}")

    def contains(self, dt: datetime) -> bool:
        return self.start <= utc(dt) < self.end

    @cached_property
    def key(self) -> str:
        """Stable id of the interval, used in lake object names and audit rows."""
        return f"{self.start:%Y%m%dT%H%MZ}_{self.end:%Y%m%dT%H%MZ}"

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        return cls(parse_iso(start), parse_iso(end))

    @classmethod
    def from_key(cls, key: str) -> Window:
        """The window of a :attr:`key` (``20261101T0000Z_20261102T0000Z``)."""
        s, e = str(key).split("_", 1)
        return cls(datetime.strptime(s, "%Y%m%dT%H%MZ"), datetime.strptime(e, "%Y%m%dT%H%MZ"))

    def local_days(self, tz: tzinfo) -> set[date]:
        """Every local day (of ``tz``) the window overlaps: the marts to rebuild after a load."""
        first = self.start.astimezone(tz).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(tz).date()
        return {first + timedelta(days=i) for i in range((last - first).days + 1)}


@dataclass
class Mention:
    """One post, article or item, in the same shape whatever the source."""

    source: str
    native_id: str
    url: str
    text: str  # full display text (HTML stripped), original script
    published_at: datetime  # UTC
    author_id: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    author_verified: bool | None = None
    author_verified_type: int | None = None
    reposts: int = 0
    comments: int = 0
    likes: int = 0
    retweet_of: str | None = None
    title: str | None = None
    quoted_text: str | None = None  # the original's text, for a repost
    truncated: bool = False  # the site gave only a truncated text ("…全文") and the full one failed
    raw_ref: str | None = None  # lake key#line of the response it was parsed from
    fetched_at: datetime | None = None
    # filled in by processing
    brands: list[str] = field(default_factory=list)
    matched_terms: dict[str, list[str]] = field(default_factory=dict)
    clean_text: str = ""
    content_hash: str = ""
    story_id: str = ""
    is_spam: bool = False
    hashtags: list[str] = field(default_factory=list)
    sentiment: float | None = None
    label: str | None = None
    model_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["published_at"] = iso(self.published_at)
        d["fetched_at"] = iso(self.fetched_at) if self.fetched_at else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Mention:
        d = dict(d)
        d["published_at"] = parse_iso(d["published_at"])
        if d.get("fetched_at"):
            d["fetched_at"] = parse_iso(d["fetched_at"])
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})
