"""What marketers receive.

| module | job |
|---|---|
| ``report`` | the daily sentiment report: numbers from the warehouse, HTML and text from templates |
| ``charts`` | the report's inline PNG charts (matplotlib, bundled CJK font) |
| ``alerts`` | the spike and crisis alert state machine (``mart_alerts``) |
| ``notify`` | alert delivery: e-mail and DingTalk / Slack webhooks |
| ``email`` | the one SMTP path and ``.eml`` writer (report, alerts, failure alerts) |
"""
