"""Fixtures of the end-to-end runs (whole DAGs, the whole demo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.paths import ROOT


@pytest.fixture(scope="module")
def dags(airflow_db):
    """The project's DAGs from dags/, after airflow_settings.yaml is applied (a DagBag per test module)."""
    from airflow.dag_processing.dagbag import DagBag

    from listening.orchestration.airflow_settings import apply_settings_file

    apply_settings_file(ROOT / "airflow_settings.yaml", Path(os.environ["AIRFLOW_HOME"]) / "state.json")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    return bag.dags
