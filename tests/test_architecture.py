"""The package's layout rules (docs/architecture.md), enforced."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "include" / "listening"
LAYERS = ["core", "lake", "sources", "config", "mentions", "sentiment", "quality", "warehouse", "pipeline",
          "delivery", "sales", "orchestration", "demo", "cli"]


def test_import_contracts_hold():
    """import-linter: the layers, Airflow only in orchestration (and the demo driver), no cycles."""
    lint = Path(sys.executable).with_name("lint-imports")
    res = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_the_tree_shows_the_layers():
    """Each layer of the contract is a package or module of its own, with a docstring saying its job."""
    for name in LAYERS:
        path = PACKAGE / name / "__init__.py" if (PACKAGE / name).is_dir() else PACKAGE / f"{name}.py"
        assert path.exists(), f"layer {name} missing ({path})"
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), f"{path} has no docstring"
    contract = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = re.findall(r'^\s*"([a-z_]+(?: \| [a-z_]+)?)",\s*$', contract.split("[[tool.importlinter.contracts]]")[1],
                        flags=re.M)
    flat = [x for item in listed for x in item.split(" | ")]
    assert sorted(flat) == sorted(LAYERS), flat


def _function_level_package_imports(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            own = (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "listening") or \
                  (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "listening" for a in node.names))
            if not own:
                continue
            # a comment on the import itself, or on the lines just above its block of imports
            span = lines[node.lineno - 1:node.end_lineno]
            i = node.lineno - 2
            while i >= 0 and (lines[i].strip().startswith(("from ", "import ", "#")) or not lines[i].strip()):
                span.append(lines[i])
                if not lines[i].strip():
                    break
                i -= 1
            if not any("#" in s for s in span):
                found.append((node.lineno, lines[node.lineno - 1].strip()))
    return found


def test_package_modules_are_imported_at_module_top():
    """A module of the package imports another inside a function only with a comment saying why."""
    bad = {str(p.relative_to(ROOT)): got for p in sorted(PACKAGE.rglob("*.py"))
           if (got := _function_level_package_imports(p))}
    assert bad == {}


def test_the_checker_sees_an_unexplained_function_level_import(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from listening.core import model\n\n    return model\n\n\ndef g():\n"
                 "    # lazy: why\n    from listening.core import text\n\n    return text\n", encoding="utf-8")
    assert _function_level_package_imports(p) == [(2, "from listening.core import model")]


def test_date_key_arithmetic_is_written_once():
    """``YYYYMMDD`` <-> date only in listening.core.model (frozen migrations excepted)."""
    pattern = re.compile(r"\*\s*10000\b|//\s*10000\b|//\s*100\s*%\s*100")
    offenders = []
    for p in sorted(PACKAGE.rglob("*.py")):
        if p == PACKAGE / "core" / "model.py" or "migrations" in p.parts:
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                offenders.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_one_smtp_path_and_one_recipients_parser():
    """smtplib is used by one module, and recipient strings are split by one function."""
    smtp_users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                        if re.search(r"^\s*import smtplib|^\s*from smtplib", p.read_text(encoding="utf-8"), re.M))
    assert smtp_users == ["delivery/email.py"]
    splitters = []
    for p in sorted(PACKAGE.rglob("*.py")):
        if p == PACKAGE / "core" / "settings.py":
            continue
        text = p.read_text(encoding="utf-8")
        splitters += [f"{p.relative_to(PACKAGE)}: {ln.strip()}" for ln in text.splitlines()
                      if re.search(r"""\.replace\(";", ","\)""", ln)
                      or (re.search(r"rec|raw", ln) and re.search(r"""\.split\(\s*["'][,;]""", ln))]
    assert splitters == [], splitters


def test_no_test_module_imports_another():
    offenders = []
    for p in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{p.relative_to(ROOT)}: {m}" for m in mods if m.split(".")[-1].startswith("test_")
                          or m.split(".")[0] in ("conftest", "weibo_fixtures")]
    assert offenders == []


def test_readme_and_architecture_doc_follow_the_tree():
    top = sorted(p.name if p.is_dir() else p.stem for p in PACKAGE.iterdir()
                 if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__"))
    assert sorted(top) == sorted(LAYERS)
    arch = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for name in top:
        entry = f"{name}/" if (PACKAGE / name).is_dir() else f"{name}.py"
        assert f"`{entry}`" in arch or f"`{name}`" in arch, f"docs/architecture.md does not describe {entry}"
        assert entry in layout, f"README's layout does not list {entry}"
    for sub in sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE and p.name != "__init__.py"
                      and "migrations" not in p.parts and "demo" not in p.parts):
        assert sub.stem in arch or sub.stem in layout, f"{sub.relative_to(ROOT)} is in neither document"
