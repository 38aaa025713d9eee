"""Every external program the code and the tests run is named in tools/system-packages.txt.

A fresh machine gets its Debian packages from that one list (`make demo` / `make test` run
tools/system-packages.sh); a program used anywhere but missing there works on a developer's
machine and fails on a new one (this project once stopped on a missing espeak-ng).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "var", "node_modules", ".git", "build", "__pycache__"}
RUNNERS = {"run", "Popen", "check_output", "check_call", "call", "create_subprocess_exec"}
# Settings that name a program (their default is the program's name).
PROGRAM_SETTINGS = ("FLUIDSYNTH", "FFMPEG", "FFPROBE", "ESPEAK", "SOX", "CHROMIUM", "_BIN", "_BINARY")


def python_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*.py"):
        if not SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def _program(value: str) -> str | None:
    name = value.rsplit("/", 1)[-1] if value.startswith("/usr/bin/") else value
    if not name or " " in name or "/" in name or name.startswith("-"):
        return None
    return name


def programs_in_source(source: str) -> set[str]:
    """Programs a module runs: first words of subprocess argument lists, shutil.which() names,
    /usr/bin paths, and the defaults of settings that name a program."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/usr/bin/"):
            found.add(node.value.rsplit("/", 1)[-1])
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        args = node.args
        if func in RUNNERS and args and isinstance(args[0], ast.List | ast.Tuple) and args[0].elts:
            first = args[0].elts[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and (name := _program(first.value)):
                found.add(name)
        if func == "which" and args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
            found.add(args[0].value)
        constants = [a.value for a in args if isinstance(a, ast.Constant)]
        if (func == "env_str" and len(constants) == len(args) == 2 and str(constants[0]).endswith(PROGRAM_SETTINGS)
                and (name := _program(str(constants[1])))):
            found.add(name)
    return found


def listed_programs() -> set[str]:
    programs: set[str] = set()
    for line in (ROOT / "tools" / "system-packages.txt").read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            programs.update(p for p in fields[1:] if p != "-")
    return programs


def test_scanner_finds_programs_however_they_are_run() -> None:
    source = '''
import shutil, subprocess
from subprocess import run
subprocess.run(["ffmpeg", "-y"])
run(("espeak-ng", "--stdout"))
subprocess.Popen([sys.executable, "-m", "celery"])
shutil.which("sox")
CHROME = "/usr/bin/chromium"
SOUNDTRACK_FLUIDSYNTH = env_str("SOUNDTRACK_FLUIDSYNTH", "fluidsynth")
subprocess.run(cmd)
'''
    assert programs_in_source(source) == {"ffmpeg", "espeak-ng", "sox", "chromium", "fluidsynth"}


def test_every_program_run_is_in_the_system_package_list() -> None:
    venv_bin = Path(sys.executable).parent
    used: dict[str, list[str]] = {}
    for path in python_files(ROOT):
        for program in programs_in_source(path.read_text()):
            used.setdefault(program, []).append(str(path.relative_to(ROOT)))
    # Programs that pip installs into the environment (celery, gunicorn...) need no Debian package.
    missing = {p: where for p, where in used.items() if p not in listed_programs() and not (venv_bin / p).exists()}
    assert missing == {}, f"add these programs' Debian packages to tools/system-packages.txt: {missing}"
    assert {"ffmpeg", "fluidsynth", "espeak-ng", "chromium"} <= set(used)
