"""The bottom layer, imported by every other package and importing none of them.

| module | job |
|---|---|
| ``model`` | ``Mention``, ``Window`` (with its local days), ``date_key`` / ``key_to_date`` |
| ``settings`` | every ``LISTENING_*`` environment variable, ``Settings``, the recipients parser |
| ``errors`` | ``ConfigError``, ``PipelineError``, ``BatchRejected`` |
| ``text`` | text normalisation (NFKC, Traditional -> Simplified, links, handles, emoticons) |
| ``fields`` | loose field formats: counts (``1.2万``) and Weibo times (``5分钟前``) |
| ``perf`` | ``batch_stage``: no cyclic GC inside a batch stage |
"""
