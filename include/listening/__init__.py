"""listening: the domain package of the social-listening pipeline (importable without Airflow)."""

__version__ = "0.1.0"
