"""The ``alerts:`` block of brands.yaml: thresholds per signal, state rules and channels.

Parsed once, with the rest of the file, into ``Config.alerts`` (:class:`AlertConfig`); every
problem is a :class:`~listening.core.errors.ConfigError` naming the key.  What the signals mean
is described in :mod:`listening.delivery.alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from listening.core.errors import ConfigError
from listening.core.settings import parse_recipients

SEVERITIES = ("yellow", "orange", "red")
KINDS = ("volume", "negative", "kol")


@dataclass(frozen=True)
class Level:
    z: float
    ratio: float = 0.0  # volume: x / baseline
    jump: float = 0.0  # negative: p - p0


@dataclass(frozen=True)
class VolumeRule:
    baseline_days: int = 7
    min_baseline_days: int = 3
    min_mentions: int = 10
    min_rate: float = 1.0
    levels: dict[str, Level] = field(default_factory=lambda: {
        "yellow": Level(z=3.0, ratio=2.0), "orange": Level(z=5.0, ratio=4.0), "red": Level(z=8.0, ratio=8.0)})


@dataclass(frozen=True)
class NegativeRule:
    window_hours: int = 3
    baseline_days: int = 7
    min_mentions: int = 20
    min_baseline_mentions: int = 50
    levels: dict[str, Level] = field(default_factory=lambda: {
        "yellow": Level(z=3.0, jump=0.15), "orange": Level(z=4.0, jump=0.25), "red": Level(z=6.0, jump=0.35)})


@dataclass(frozen=True)
class KolRule:
    min_followers: int = 1_000_000
    lookback_hours: int = 3
    red_followers: int = 10_000_000
    red_negative_authors: int = 2


@dataclass(frozen=True)
class AlertConfig:
    volume: VolumeRule = field(default_factory=VolumeRule)
    negative: NegativeRule = field(default_factory=NegativeRule)
    kol: KolRule = field(default_factory=KolRule)
    enabled_kinds: tuple[str, ...] = KINDS
    close_after_quiet_hours: int = 6
    reopen_within_hours: int = 24
    notify_on_escalation: bool = True
    manual_lookback_hours: int = 24
    max_notify_age_hours: int = 24
    email: bool = True
    recipients: tuple[str, ...] = ()
    webhook_connection: str = "listening_webhook"


def parse_alert_config(raw: Any, origin: str = "<config>") -> AlertConfig:
    """The ``alerts:`` mapping of brands.yaml (None = every default); errors name the key."""
    if raw is None:
        return AlertConfig()

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{origin}: alerts.{key}: {problem}" if key else f"{origin}: alerts: {problem}")

    def mapping(v: Any, key: str) -> dict[str, Any]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise fail(key, f"expected a mapping, got {type(v).__name__}")
        return v

    def allowed(m: dict[str, Any], key: str, keys: set[str]) -> None:
        extra = sorted(set(m) - keys)
        if extra:
            raise fail(f"{key}.{extra[0]}" if key else extra[0], f"unknown key (allowed: {', '.join(sorted(keys))})")

    def num(m: dict[str, Any], name: str, key: str, default: float, lo: float = 0.0, integer: bool = False) -> Any:
        v = m.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or (integer and int(v) != v) or v < lo:
            kind = "an integer" if integer else "a number"
            raise fail(f"{key}.{name}" if key else name, f"expected {kind} >= {lo:g}, got {v!r}")
        return int(v) if integer else float(v)

    def flag(m: dict[str, Any], name: str, default: bool) -> bool:
        v = m.get(name, default)
        if not isinstance(v, bool):
            raise fail(name, f"expected true or false, got {v!r}")
        return v

    def levels(m: dict[str, Any], key: str, default: dict[str, Level], second: str) -> dict[str, Level]:
        sev = mapping(m.get("severity"), f"{key}.severity")
        allowed(sev, f"{key}.severity", set(SEVERITIES))
        out = dict(default)
        for name, spec in sev.items():
            spec = mapping(spec, f"{key}.severity.{name}")
            allowed(spec, f"{key}.severity.{name}", {"z", second})
            base = default[name]
            out[name] = replace(base, z=num(spec, "z", f"{key}.severity.{name}", base.z),
                                **{second: num(spec, second, f"{key}.severity.{name}", getattr(base, second))})
        for lower, higher in zip(SEVERITIES, SEVERITIES[1:], strict=False):
            if out[higher].z < out[lower].z or getattr(out[higher], second) < getattr(out[lower], second):
                raise fail(f"{key}.severity", f"{higher} thresholds must not be below {lower}'s")
        return out

    top = mapping(raw, "")
    allowed(top, "", {"volume", "negative_share", "kol", "kinds", "close_after_quiet_hours", "reopen_within_hours",
                      "notify_on_escalation", "manual_lookback_hours", "max_notify_age_hours", "channels"})
    v = mapping(top.get("volume"), "volume")
    allowed(v, "volume", {"baseline_days", "min_baseline_days", "min_mentions", "min_rate", "severity"})
    dv = VolumeRule()
    volume = VolumeRule(
        baseline_days=num(v, "baseline_days", "volume", dv.baseline_days, 1, True),
        min_baseline_days=num(v, "min_baseline_days", "volume", dv.min_baseline_days, 1, True),
        min_mentions=num(v, "min_mentions", "volume", dv.min_mentions, 1, True),
        min_rate=num(v, "min_rate", "volume", dv.min_rate, 0.01),
        levels=levels(v, "volume", dv.levels, "ratio"),
    )
    if volume.min_baseline_days > volume.baseline_days:
        raise fail("volume.min_baseline_days", "must not exceed baseline_days")
    n = mapping(top.get("negative_share"), "negative_share")
    allowed(n, "negative_share", {"window_hours", "baseline_days", "min_mentions", "min_baseline_mentions",
                                  "severity"})
    dn = NegativeRule()
    negative = NegativeRule(
        window_hours=num(n, "window_hours", "negative_share", dn.window_hours, 1, True),
        baseline_days=num(n, "baseline_days", "negative_share", dn.baseline_days, 1, True),
        min_mentions=num(n, "min_mentions", "negative_share", dn.min_mentions, 1, True),
        min_baseline_mentions=num(n, "min_baseline_mentions", "negative_share", dn.min_baseline_mentions, 1, True),
        levels=levels(n, "negative_share", dn.levels, "jump"),
    )
    k = mapping(top.get("kol"), "kol")
    allowed(k, "kol", {"min_followers", "lookback_hours", "red_followers", "red_negative_authors"})
    dk = KolRule()
    kol = KolRule(
        min_followers=num(k, "min_followers", "kol", dk.min_followers, 1, True),
        lookback_hours=num(k, "lookback_hours", "kol", dk.lookback_hours, 1, True),
        red_followers=num(k, "red_followers", "kol", dk.red_followers, 1, True),
        red_negative_authors=num(k, "red_negative_authors", "kol", dk.red_negative_authors, 1, True),
    )
    kinds = top.get("kinds", list(KINDS))
    if not isinstance(kinds, list) or not all(x in KINDS for x in kinds):
        raise fail("kinds", f"expected a list of {', '.join(KINDS)}, got {kinds!r}")
    ch = mapping(top.get("channels"), "channels")
    allowed(ch, "channels", {"email", "recipients", "webhook_connection"})
    email = ch.get("email", True)
    if not isinstance(email, bool):
        raise fail("channels.email", f"expected true or false, got {email!r}")
    rec = ch.get("recipients", [])
    if isinstance(rec, str):
        rec = parse_recipients(rec)
    if not isinstance(rec, list) or not all(isinstance(r, str) and "@" in r for r in rec):
        raise fail("channels.recipients", f"expected a list of e-mail addresses, got {rec!r}")
    hook = ch.get("webhook_connection", "listening_webhook")
    if not isinstance(hook, str) or not hook.strip():
        raise fail("channels.webhook_connection", f"expected an Airflow connection id, got {hook!r}")
    return AlertConfig(
        volume=volume, negative=negative, kol=kol, enabled_kinds=tuple(kinds),
        close_after_quiet_hours=num(top, "close_after_quiet_hours", "", 6, 1, True),
        reopen_within_hours=num(top, "reopen_within_hours", "", 24, 0, True),
        notify_on_escalation=flag(top, "notify_on_escalation", True),
        manual_lookback_hours=num(top, "manual_lookback_hours", "", 24, 1, True),
        max_notify_age_hours=num(top, "max_notify_age_hours", "", 24, 1, True),
        email=email, recipients=tuple(rec), webhook_connection=hook.strip(),
    )
