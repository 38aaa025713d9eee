"""Each app keeps one list of its error codes, each with its message; code that raises a code not
on its app's list fails here, so the API documentation (which prints the lists) never falls behind."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Where each package's codes are listed. Media codes (mediakit) and job outcomes (jobs) are shared.
REGISTRIES = {"charcha": "charcha.errors", "musicvideo": "musicvideo.errors", "soundtrack": "soundtrack.errors",
              "personalize": "personalize.errors", "jobs": "jobs.errors", "mediakit": "mediakit.errors",
              "config": "mediakit.errors", "accounts": "accounts.errors"}
SHARED = ("mediakit.errors", "jobs.errors")
SKIP = {"testing", "migrations", "__pycache__"}


def codes_in_source(source: str) -> set[str]:
    """Codes a module raises or records: ``code="..."`` arguments and ``code = "..."`` class attributes."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found.add(kw.value.value)
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                        and stmt.targets[0].id == "code" and isinstance(stmt.value, ast.Constant)):
                    found.add(str(stmt.value.value))
    return found


def registry(module: str) -> dict[str, str]:
    try:
        return dict(importlib.import_module(module).ERROR_CODES)
    except ModuleNotFoundError:
        return {}


def unlisted_codes(root: Path) -> dict[str, set[str]]:
    problems: dict[str, set[str]] = {}
    for package, module in REGISTRIES.items():
        allowed = set(registry(module)).union(*(registry(m) for m in SHARED))
        for path in (root / package).rglob("*.py"):
            if SKIP.intersection(path.relative_to(root).parts):
                continue
            missing = codes_in_source(path.read_text()) - allowed
            if missing:
                problems[str(path.relative_to(root))] = missing
    return problems


def test_every_raised_code_is_listed_with_a_message() -> None:
    assert unlisted_codes(ROOT) == {}


@pytest.mark.parametrize("module", sorted(set(REGISTRIES.values()) - {"accounts.errors"}))
def test_every_listed_code_has_a_sentence(module: str) -> None:
    codes = registry(module)
    assert codes, f"{module} lists no codes"
    for code, message in codes.items():
        assert code.replace("_", "").isalnum() and code.islower(), code
        assert message[:1].isupper() and message.endswith("."), (code, message)


def test_an_unlisted_code_is_caught(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "x.py").write_text(
        'class E(Exception):\n    code = "job_not_found"\nraise E("x", code="no_such_code_anywhere")\n')
    assert unlisted_codes(tmp_path) == {"jobs/x.py": {"no_such_code_anywhere"}}


def test_the_api_documentation_lists_the_codes(api_user: object) -> None:
    from rest_framework.test import APIClient

    assert isinstance(api_user, APIClient)
    response = api_user.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    description = response.json()["info"]["description"]
    for module in set(REGISTRIES.values()):
        for code, message in registry(module).items():
            assert f"`{code}`" in description and message in description
