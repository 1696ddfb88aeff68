"""Spike and crisis alerts: signals, the state machine, dedupe across runs, e-mail files and the webhook."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select
from support.webhook import Hook
from support.world import World, add_crisis, local, steady_world, template_engine

from listening.config import ConfigError
from listening.config.alerts import parse_alert_config
from listening.core.model import Window
from listening.delivery import alerts, notify
from listening.orchestration.connections import webhook_from_connection, webhook_settings

ACFG = alerts.AlertConfig()


def day_window(day: int) -> Window:
    return Window(local(day, 0), local(day, 0) + timedelta(days=1))


def rows(engine) -> dict[str, dict]:
    with engine.connect() as c:
        return {r.alert_id: r._asdict() for r in c.execute(select(alerts.mart_alerts))}


def run(engine, config, window, hook=None, out=None, acfg=ACFG):
    ev = alerts.evaluate(engine, config, acfg, window)
    sent = notify.notify_pending(engine, config, acfg, None, [], hook, out)
    return ev, sent


# ---- configuration and signals ----------------------------------------------------------------------
def test_alert_config_defaults_and_overrides():
    assert parse_alert_config(None) == alerts.AlertConfig()
    a = parse_alert_config({
        "kol": {"min_followers": 500000}, "close_after_quiet_hours": 3,
        "volume": {"severity": {"red": {"z": 10, "ratio": 9}}},
        "channels": {"recipients": "a@x.com, b@y.com", "webhook_connection": "hook2"},
    })
    assert a.kol.min_followers == 500000 and a.close_after_quiet_hours == 3
    assert a.volume.levels["red"].z == 10 and a.volume.levels["yellow"].z == 3
    assert a.recipients == ("a@x.com", "b@y.com") and a.webhook_connection == "hook2"


@pytest.mark.parametrize("raw,where", [
    ({"kol": {"min_follower": 1}}, "alerts.kol.min_follower: unknown key"),
    ({"volume": {"min_mentions": -1}}, "alerts.volume.min_mentions"),
    ({"volume": {"severity": {"red": {"z": 1}}}}, "red thresholds must not be below orange"),
    ({"kinds": ["volume", "tone"]}, "alerts.kinds"),
    ({"notify_on_escalation": "yes"}, "alerts.notify_on_escalation"),
])
def test_alert_config_errors_name_the_key(raw, where):
    with pytest.raises(ConfigError, match=where.replace(".", r"\.").replace("(", r"\(")):
        parse_alert_config(raw, "brands.yaml")


def test_volume_signal_levels():
    rule = alerts.VolumeRule()
    assert alerts.volume_signal(40, [3] * 7, rule)[0] == "red"
    assert alerts.volume_signal(12, [3] * 7, rule)[0] == "orange"  # z = 5.2, ratio 4
    assert alerts.volume_signal(9, [3] * 7, rule)[0] is None  # under min_mentions
    assert alerts.volume_signal(10, [5] * 7, rule)[0] is None  # z = 2.2: an ordinary busy hour
    sev, stats = alerts.volume_signal(40, [3, 3], rule)
    assert sev is None and stats["skipped"]  # two baseline days are not enough
    sev, stats = alerts.volume_signal(15, [0] * 7, rule)  # a silent hour: rate floor 1
    assert sev == "red" and stats["baseline_mean"] == 0


def test_volume_signal_yellow_band():
    rule = alerts.VolumeRule()
    sev, stats = alerts.volume_signal(14, [5] * 7, rule)
    assert stats["z"] >= 3 and stats["ratio"] >= 2 and sev == "yellow"


def test_negative_and_kol_signals():
    rule = alerts.NegativeRule()
    assert alerts.negative_signal(40, 50, 330, 1000, rule)[0] == "red"  # 80% vs 33%
    assert alerts.negative_signal(35, 50, 330, 1000, rule)[0] == "orange"  # 70%: z = 5.6
    assert alerts.negative_signal(12, 19, 330, 1000, rule)[0] is None  # too few mentions
    assert alerts.negative_signal(20, 50, 330, 1000, rule)[0] is None  # 40% vs 33%: noise
    k = alerts.KolRule()

    def post(author, label, followers=2_000_000):
        return {"author_key": author, "sentiment_label": label, "followers": followers, "mention_id": author}

    assert alerts.kol_signal([], k)[0] is None
    assert alerts.kol_signal([post("a", "positive")], k)[0] == "yellow"
    assert alerts.kol_signal([post("a", "negative")], k)[0] == "orange"
    assert alerts.kol_signal([post("a", "negative"), post("b", "negative")], k)[0] == "red"
    assert alerts.kol_signal([post("a", "negative", 12_000_000)], k)[0] == "red"


# ---- the state machine on a synthetic warehouse -----------------------------------------------------
def grow(w: World, day: int, crisis_hours: tuple[int, ...] | None = None) -> None:
    """Load one more day (as the daily demo drive does), with a crisis in those hours if given."""
    w.days(day, day, {"aurora": 3, "xingchen": 2, "lanshan": 1})
    if crisis_hours:
        add_crisis(w, day, crisis_hours)
    w.flush()


@pytest.fixture
def crisis(config, tmp_path):
    """Everything up to 11-12 already loaded, the crisis on 11-10."""
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 12)
    add_crisis(w, 10)
    w.flush()
    return eng


def test_quiet_day_sends_nothing(config, tmp_path):
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 8)
    w.flush()
    with Hook() as hook:
        for day in (8, 8, 9):
            if day == 9:
                grow(w, 9)
            ev, sent = run(eng, config, day_window(day), hook.webhook(), tmp_path / "mail")
            assert ev.hours == 24 and ev.hours_loaded == 24
            assert ev.opened == [] and rows(eng) == {}
            assert sent["messages"] == [] and hook.bodies == []
    assert not (tmp_path / "mail").exists()


def test_spike_day_fires_each_alert_once_across_runs(config, tmp_path):
    mail = tmp_path / "mail"
    crisis = template_engine(tmp_path)
    w = steady_world(crisis, 1, 9)
    w.flush()
    grow(w, 10, (14, 15, 16))
    with Hook() as hook:
        ev, sent = run(crisis, config, day_window(10), hook.webhook(), mail)
        state = rows(crisis)
        assert sorted((r["brand_id"], r["kind"]) for r in state.values()) == [
            ("aurora", "kol"), ("aurora", "negative"), ("aurora", "volume")]
        kol = next(r for r in state.values() if r["kind"] == "kol")
        assert kol["severity"] == "red"
        # the KOL posts were at 14:30 and 15:10: by the end of the day that alert is already over,
        # but it happened inside this load, so it is sent (once), marked as over
        assert kol["status"] == "closed" and kol["notified_at"] is not None
        assert kol["alert_id"] == "aurora:kol:20261110T06Z"  # 14:00 local = 06:00 UTC, the hour it opened
        posts = kol["payload"]["peak"]["posts"]
        assert {p["author"] for p in posts} == {"数码测评君", "消费维权观察"}  # the official account excluded
        vol = next(r for r in state.values() if r["kind"] == "volume")
        assert vol["severity"] == "red" and vol["payload"]["peak"]["mentions"] == 45  # 40 + 3 + KOL + official
        # one message per brand and channel, carrying the three alerts
        assert len(hook.bodies) == 1 and len(list(mail.glob("*.eml"))) == 1
        text = hook.bodies[0]["text"]
        assert text.startswith("[舆情预警 RED] 极光手机") and "KOL" in text and "数码测评君" in text
        assert all(r["notified_at"] is not None for r in rows(crisis).values())

        # the same window again, then again: nothing new is opened or sent
        for _ in range(2):
            ev2, sent2 = run(crisis, config, day_window(10), hook.webhook(), mail)
            assert sent2["messages"] == []
        assert len(hook.bodies) == 1 and len(list(mail.glob("*.eml"))) == 1
        again = rows(crisis)
        assert set(again) == set(state)
        assert {k: (v["severity"], v["status"]) for k, v in again.items()} == \
               {k: (v["severity"], v["status"]) for k, v in state.items()}

        # the next day is quiet again: the alerts close, and closing sends nothing
        grow(w, 11)
        ev3, sent3 = run(crisis, config, day_window(11), hook.webhook(), mail)
        assert ev3.opened == [] and set(ev3.closed) <= set(state)
        assert all(r["status"] == "closed" and r["closed_at"] is not None for r in rows(crisis).values())
        assert sent3["messages"] == [] and len(hook.bodies) == 1


def test_hourly_runs_end_in_the_same_state_as_one_wide_run(config, tmp_path):
    wide_dir, hourly_dir = tmp_path / "wide", tmp_path / "hourly"
    wide_dir.mkdir()
    hourly_dir.mkdir()
    worlds = []
    for d in (wide_dir, hourly_dir):
        w = steady_world(template_engine(d), 1, 8)
        w.flush()
        worlds.append(w)
    wide, hourly = (w.engine for w in worlds)
    with Hook() as hook_w, Hook() as hook_h:
        for day in (9, 10, 11):
            for w in worlds:
                grow(w, day, (14, 15, 16) if day == 10 else None)
            run(wide, config, day_window(day), hook_w.webhook())
            h = local(day, 0)
            while h < local(day, 0) + timedelta(days=1):
                run(hourly, config, Window(h, h + timedelta(hours=1)), hook_h.webhook())
                h += timedelta(hours=1)
        key = ("alert_id", "severity", "status", "window_start", "window_end", "opened_at", "closed_at")
        assert {k: tuple(v[c] for c in key) for k, v in rows(wide).items()} == \
               {k: tuple(v[c] for c in key) for k, v in rows(hourly).items()}
        assert len(hook_w.bodies) == 1
        # hour by hour: one message when an alert opens, one per escalation, never the same twice
        sent = [(a.split("=")[0], a.split("=")[1]) for r in rows(hourly).values()
                for a in [f"{r['alert_id']}={n['severity']}" for n in r["payload"]["notifications"]
                          if n["channel"] == "webhook"]]
        assert len(sent) == len(set(sent))
        for aid in rows(hourly):
            levels = [alerts.RANK[s] for a, s in sent if a == aid]
            assert levels == sorted(levels) and levels[0] >= 1
        assert 1 <= len(hook_h.bodies) <= 4


def test_reopen_within_a_day_is_the_same_alert_and_silent(config, tmp_path):
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 9)
    w.flush()
    with Hook() as hook:
        for day, hours in ((10, (14, 15, 16)), (11, (9, 10))):  # the story flares up again the next morning
            grow(w, day, hours)
            run(eng, config, day_window(day), hook.webhook())
        state = rows(eng)
        assert len([r for r in state.values() if r["kind"] == "volume"]) == 1
        vol = next(r for r in state.values() if r["kind"] == "volume")
        events = [e["event"] for e in vol["payload"]["events"]]
        assert events[:1] == ["opened"] and "closed" in events and "reopened" in events
        assert len(hook.bodies) == 1  # the flare-up did not beat the red already sent


def test_hours_without_data_are_not_quiet(config, tmp_path):
    eng = template_engine(tmp_path)
    w = steady_world(eng, 1, 10)
    add_crisis(w, 10, hours=(20, 21, 22))
    w.flush()  # 11-11 never loaded: a gap, not a calm
    run(eng, config, day_window(10), None)
    run(eng, config, day_window(11), None)
    state = rows(eng)
    assert state and all(r["status"] == "open" for r in state.values())
    assert alerts.evaluate(eng, config, ACFG, day_window(11)).hours_loaded == 0


def test_rerun_of_an_older_window_changes_nothing_later(config, crisis):
    run(crisis, config, day_window(10), None)
    run(crisis, config, day_window(11), None)
    after = rows(crisis)
    ev = alerts.evaluate(crisis, config, ACFG, day_window(10))  # e.g. a cleared ingest run of 11-10
    assert ev.skipped_stale and set(ev.skipped_stale) <= set(after)  # those a later run moved past
    assert rows(crisis) == after


def test_old_alerts_found_by_a_backfill_are_kept_not_sent(config, crisis, tmp_path):
    # everything up to 11-12 is loaded; evaluating 11-10 only now finds history, not news
    with Hook() as hook:
        ev, sent = run(crisis, config, day_window(10), hook.webhook())
        assert ev.opened and sent["messages"] == [] and hook.bodies == []
    assert rows(crisis)


def test_acknowledged_alert_is_not_renotified(config, crisis):
    run(crisis, config, Window(local(10, 0), local(10, 15)), None)
    with crisis.begin() as c:
        c.execute(alerts.mart_alerts.update().values(status="acknowledged"))
    ev = alerts.evaluate(crisis, config, ACFG, Window(local(10, 15), local(10, 17)))
    assert ev.open_now and all(r["status"] == "acknowledged" for r in rows(crisis).values())
    assert alerts.pending(crisis, ["email"], ACFG) == []


# ---- channels ---------------------------------------------------------------------------------------
HOSTILE = "<script>alert(1)</script> <!channel> @all [x](javascript:alert(1)) \u202eevil\u202c\n第二行"


def _hostile_world(tmp_path):
    eng = template_engine(tmp_path)
    w = steady_world(eng, 3, 10)
    w.mention("aurora", local(10, 14, 5), "negative", author="<b>大V</b>", followers=5_000_000,
              text=HOSTILE, url="javascript:alert(1)")
    w.flush()
    return eng


def test_webhook_slack_escapes_user_text(config, tmp_path):
    eng = _hostile_world(tmp_path)
    with Hook() as hook:
        ev, sent = run(eng, config, day_window(10), hook.webhook("slack"))
        assert [r["kind"] for r in rows(eng).values()] == ["kol"]
        assert len(hook.bodies) == 1
        text = hook.bodies[0]["text"]
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "&lt;b&gt;大V&lt;/b&gt;" in text
    assert "javascript:" not in text.split("[x](")[0] and "\u202e" not in text and "第二行" in text
    assert "\n第二行" not in text  # user text stays on one line


def test_webhook_dingtalk_signed_and_plain_text(config, tmp_path):
    eng = _hostile_world(tmp_path)
    with Hook(answer=(200, {"errcode": 0, "errmsg": "ok"})) as hook:
        run(eng, config, day_window(10), hook.webhook("dingtalk", secret="SECabc"))
        body, query = hook.bodies[0], hook.queries[0]
    assert body["msgtype"] == "text" and "[舆情预警 ORANGE] 极光手机" in body["text"]["content"]
    ts, sign = query["timestamp"][0], query["sign"][0]
    expect = base64.b64encode(hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()).decode()
    assert sign == expect and query["access_token"] == ["t"]


def test_failed_webhook_is_retried_without_resending_email(config, tmp_path):
    eng = _hostile_world(tmp_path)
    mail = tmp_path / "mail"
    with Hook(answer=(500, {"error": "down"})) as hook:
        alerts.evaluate(eng, config, ACFG, day_window(10))
        with pytest.raises(notify.NotifyError, match="HTTP 500"):
            notify.notify_pending(eng, config, ACFG, None, [], hook.webhook(), mail)
        assert len(list(mail.glob("*.eml"))) == 1  # e-mail went out and is recorded
        (r,) = rows(eng).values()
        assert r["payload"]["notified"] == {"email": "orange"} and r["notified_at"] is None
        hook.answer = (200, {"ok": True})
        sent = notify.notify_pending(eng, config, ACFG, None, [], hook.webhook(), mail)
        assert [m["channel"] for m in sent["messages"]] == ["webhook"]
        assert len(list(mail.glob("*.eml"))) == 1 and len(hook.bodies) == 2
        (r,) = rows(eng).values()
        assert r["notified_at"] is not None


def test_dingtalk_error_code_is_a_failure(config, tmp_path):
    eng = _hostile_world(tmp_path)
    with Hook(answer=(200, {"errcode": 310000, "errmsg": "keywords not in content"})) as hook:
        alerts.evaluate(eng, config, ACFG, day_window(10))
        with pytest.raises(notify.NotifyError, match="310000"):
            notify.notify_pending(eng, config, alerts.AlertConfig(email=False), None, [],
                                  hook.webhook("dingtalk"), tmp_path)


def test_alert_email_html_is_inert(config, tmp_path):
    import email
    from email import policy

    eng = _hostile_world(tmp_path)
    run(eng, config, day_window(10), None, tmp_path / "mail")
    (eml,) = (tmp_path / "mail").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",)).get_content()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and "&lt;b&gt;大V&lt;/b&gt;" in html
    assert "Content-Security-Policy" in html
    assert "KOL" in msg["Subject"] and "\n" not in msg["Subject"]


def test_webhook_connection_forms(monkeypatch):
    class Conn:
        conn_type, host, port, schema, password, login = "https", "oapi.dingtalk.com", None, "robot/send", None, None
        extra_dejson = {"access_token": "abc", "secret": "SEC1"}

    hook = webhook_from_connection(Conn())
    assert hook.url == "https://oapi.dingtalk.com/robot/send?access_token=abc"
    assert hook.format == "dingtalk" and hook.secret == "SEC1"
    Conn.extra_dejson = {"url": "https://hooks.slack.com/services/T/B/X"}
    hook = webhook_from_connection(Conn())
    assert hook.url == "https://hooks.slack.com/services/T/B/X" and hook.format == "slack"
    Conn.extra_dejson = {"url": "file:///etc/passwd"}
    with pytest.raises(ValueError, match="http"):
        webhook_from_connection(Conn())
    monkeypatch.setenv("AIRFLOW_CONN_LISTENING_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "port": 9, "schema": "hook", "extra": {"format": "slack"}}))
    got = webhook_settings("listening_webhook")
    assert got is not None and got.url == "http://127.0.0.1:9/hook"


def test_brands_yaml_alerts_section_is_read(config, tmp_path):
    import yaml

    from listening.config import load_config

    doc = yaml.safe_load(config.path.read_text(encoding="utf-8"))
    doc["alerts"] = {**(doc.get("alerts") or {}), "kol": {"min_followers": 2000000}}
    p = tmp_path / "brands.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    got = load_config(p).alerts  # parsed once, with the rest of the file
    assert got.kol.min_followers == 2_000_000 and got.kol.lookback_hours == 3
    assert isinstance(config.alerts, alerts.AlertConfig)  # the shipped file parses


def test_task_window_from_asset_events_and_manual(config, crisis):
    from listening.orchestration import tasks

    class Ev:
        extra = {"interval": "20261110T0600Z_20261110T0700Z", "dates": ["2026-11-10"]}

    class Ev2:
        extra = {"interval": "20261110T0700Z_20261110T0800Z"}

    w = tasks.alert_window(None, {"asset": [Ev(), Ev2()]}, crisis, 24)
    assert (w.start.hour, w.end.hour) == (6, 8) and w.start.tzinfo == UTC
    manual = tasks.alert_window(None, None, crisis, 24)
    assert manual.end == local(13, 0).astimezone(UTC) and manual.end - manual.start == timedelta(hours=24)
    p = tasks.alert_window({"window_start": "2026-11-10T00:00:00Z", "window_end": "2026-11-10T05:00:00Z"}, None,
                           crisis, 24)
    assert p.end.hour == 5


@pytest.mark.postgres
def test_state_machine_and_report_on_postgresql(config, pg_url, tmp_path):
    from listening import warehouse as wh
    from listening.delivery import report

    eng = wh.get_engine(pg_url)
    wh.create_schema(eng)
    w = steady_world(eng, 3, 9)
    w.flush()
    grow(w, 10, (14, 15, 16))
    with Hook() as hook:
        ev, sent = run(eng, config, day_window(10), hook.webhook(), tmp_path / "mail")
        assert sorted(a.rsplit(":", 1)[0] for a in ev.opened) == ["aurora:kol", "aurora:negative", "aurora:volume"]
        assert len(hook.bodies) == 1
        ev2, sent2 = run(eng, config, day_window(10), hook.webhook(), tmp_path / "mail")
        assert sent2["messages"] == [] and len(hook.bodies) == 1
    data = report.build_report_data(eng, config, local(10, 0).date())
    assert {a["kind"] for a in data["brands"][0]["alerts"]} == {"volume", "negative", "kol"}
    assert data["brands"][0]["mentions"] > 100
    eng.dispose()
