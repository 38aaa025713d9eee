"""Engine packages import neither Django nor an app: they take plain values and paths and return
plain values, so they run in a notebook, a bench script or another worker unchanged."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("charcha/vision", "musicvideo/audio", "musicvideo/render", "personalize/lora", "soundtrack/engine",
           "mediakit")
APPS = ("accounts", "charcha", "config", "jobs", "musicvideo", "personalize", "soundtrack")
FRAMEWORKS = ("django", "rest_framework", "drf_spectacular", "celery", "storages", "kombu")


def imported_modules(source: str, *, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                names.add(node.module)
    return names


def forbidden(module: str) -> bool:
    top = module.split(".")[0]
    if top in FRAMEWORKS:
        return True
    if top not in APPS:
        return False
    # Another engine package (or mediakit) is fine; anything else of an app is not.
    path = module.replace(".", "/")
    return not any(path == e or path.startswith(e + "/") for e in ENGINES)


def engine_violations(root: Path) -> list[str]:
    problems = []
    for engine in ENGINES:
        for path in sorted((root / engine).rglob("*.py")):
            package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
            for module in sorted(imported_modules(path.read_text(), package=package)):
                if forbidden(module):
                    problems.append(f"{path.relative_to(root)} imports {module}")
    return problems


def test_engine_packages_import_no_django_and_no_app() -> None:
    assert engine_violations(ROOT) == []


@pytest.mark.parametrize(("module", "bad"), [
    ("django.conf", True), ("rest_framework.fields", True), ("celery", True), ("musicvideo.models", True),
    ("musicvideo.testing.synthetic", True), ("jobs.context", True), ("charcha.services", True),
    ("mediakit.audio", False), ("charcha.vision.identity", False), ("personalize.lora.families", False),
    ("numpy", False), ("torch", False)])
def test_the_rule(module: str, bad: bool) -> None:
    assert forbidden(module) is bad


def test_a_violation_is_reported(tmp_path: Path) -> None:
    engine = tmp_path / "musicvideo" / "audio"
    engine.mkdir(parents=True)
    (engine / "x.py").write_text("import numpy\nfrom django.conf import settings\nfrom ..models import Song\n")
    assert engine_violations(tmp_path) == ["musicvideo/audio/x.py imports django.conf",
                                           "musicvideo/audio/x.py imports musicvideo.models"]
