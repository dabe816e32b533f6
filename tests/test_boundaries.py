"""The engine (feeds, detectors, maker) runs without a screen: it never imports textual or the console."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE_PACKAGES = ("feeds", "detectors", "maker")
FORBIDDEN = ("textual", "console")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_packages_never_import_the_ui():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in ENGINE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imported_modules(path) & set(FORBIDDEN)
    ]
    assert offenders == []


def test_headless_runtime_loads_without_textual():
    code = ("import sys, console.cli, console.runtime, console.headless, console.wiring, feeds, detectors, maker;"
            "print('textual' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"
