"""The README's two commands: CI runs the test command verbatim and installs like the README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_the_readme_test_command() -> None:
    test_cmd = next(b for b in _blocks() if "pytest" in b).strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in [line.strip() for line in ci]
    assert "pip install -q -e '.[test]'" in "\n".join(ci)  # the README installs '.[test]'
    assert "pip install -e '.[test]'" in _blocks()[0]


def test_readme_test_command_keeps_the_coverage_floor() -> None:
    """The test command measures the coverage of zoning/ and fails below the floor."""
    import tomllib

    test_cmd = next(b for b in _blocks() if "pytest" in b).strip()
    assert "--cov=zoning" in test_cmd.split()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["coverage"]["report"]["fail_under"] >= 80
    assert any(d.startswith("pytest-cov") for d in pyproject["project"]["optional-dependencies"]
               ["test"])
