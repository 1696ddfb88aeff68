"""The steps of ``ingest_mentions``, one module per DAG task, in DAG order; each is a plain function
of (config, window, lake, settings or engine) that a task body (:mod:`listening.orchestration.tasks`)
or the CLI calls.

Data moves between steps through the lake, and only small summaries through XCom::

    plan       which sources each crawl task crawls
    crawl      -> raw/source=<id>/date=/hour=/<interval>.jsonl.gz   (one per source, mapped)
    transform  -> staged/<interval>/transformed.jsonl.gz           parse, match, normalise, dedupe
    score      -> staged/<interval>/scored.jsonl.gz                 stories, sentiment
    validate   -> staged/<interval>/validated.jsonl.gz + quarantine.jsonl.gz
    load       -> warehouse, one transaction, one etl_batch row per source
    gate       fails the run when a source was stopped by its raw gate
"""
