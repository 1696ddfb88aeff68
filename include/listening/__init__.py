"""listening: the domain package of the social-listening pipeline (importable without Airflow).

Laid out in the order the data flows, one import direction (docs/architecture.md): ``core`` ->
``lake`` -> ``sources`` -> ``config`` -> ``mentions`` -> ``sentiment`` -> ``quality`` ->
``warehouse`` -> ``pipeline`` -> ``delivery`` / ``sales`` -> ``orchestration`` -> ``demo`` / ``cli``.
"""

__version__ = "0.1.0"
