"""Where things are: the project root, the tests folder, the test data files (tests/fixtures)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"


def load_module(path: Path, name: str | None = None) -> ModuleType:
    """Import a Python file that is not on sys.path (a bench/ script, the static test server)."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
