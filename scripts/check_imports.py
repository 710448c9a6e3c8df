#!/usr/bin/env python3
"""Fails when a module that the project's Python imports is not provided by its requirements.

    .venv/bin/python scripts/check_imports.py --requirements Tests/e2e/requirements.txt \\
        --exclude Tests/deploy Tests Benchmarks scripts

Run by scripts/test.sh (and scripts/check-deploy.sh for Tests/deploy) in the virtual environment
made from REQUIREMENTS. Every `import X` / `from X import ...` at any depth of every .py file under
the given paths must name a module that is

- in the standard library (`sys.stdlib_module_names`),
- the project's own: a .py file or a package directory anywhere under Tests/, Benchmarks/ or
  scripts/ (`conftest`, `emulator`, `sidecar`, ...), or
- provided by an installed distribution (`importlib.metadata.packages_distributions()`) that
  REQUIREMENTS lists by name. A module present only because another requirement pulls it in
  fails too: that requirement may drop it in its next version.

Relative imports and imports made by name at run time (`importlib.import_module`) are not seen.
Exits 1 and names each module, the files importing it and why it is not provided.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIRECTORIES = ("Tests", "Benchmarks", "scripts")


def sources(directory: Path) -> list[Path]:
    """The .py files under `directory`, not those in hidden folders: downloaded and generated
    ones live there (Tests/e2e/.sdk-cache holds the openai sdist the SDK suite runs)."""
    return sorted(f for f in directory.rglob("*.py") if not any(part.startswith(".") for part in f.relative_to(directory).parts))


def python_files(paths: list[Path], excluded: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        candidates = [path] if path.is_file() else sources(path)
        files += [f for f in candidates if not any(f.resolve().is_relative_to(e.resolve()) for e in excluded)]
    return files


def imported_modules(file: Path) -> set[str]:
    """The top-level names of the absolute imports in `file`."""
    names = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), filename=str(file))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def project_modules() -> set[str]:
    names = set()
    for directory in PROJECT_DIRECTORIES:
        for file in sources(ROOT / directory):
            names.add(file.stem)
            if file.name == "__init__.py":
                names.add(file.parent.name)
    return names


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them: `Google_GenAI` and `google-genai` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(file: Path) -> set[str]:
    names = set()
    for line in file.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalized(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]))
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", type=Path, action="append", required=True, help="a requirements file (repeatable)")
    parser.add_argument("--exclude", type=Path, action="append", default=[], help="a path left to another environment")
    parser.add_argument("paths", type=Path, nargs="+", help="files or directories to check")
    arguments = parser.parse_args()

    required = set().union(*(requirement_names(file) for file in arguments.requirements))
    own = project_modules()
    distributions = importlib.metadata.packages_distributions()
    importers: dict[str, list[Path]] = {}
    for file in python_files(arguments.paths, arguments.exclude):
        for module in imported_modules(file):
            importers.setdefault(module, []).append(file)

    problems = []
    for module, files in sorted(importers.items()):
        if module in sys.stdlib_module_names or module in own:
            continue
        providers = sorted({normalized(name) for name in distributions.get(module, [])})
        if providers and required & set(providers):
            continue
        where = ", ".join(str(f.resolve().relative_to(ROOT)) for f in sorted(files))
        if providers:
            why = f"installed as {', '.join(providers)}, which the requirements do not list"
        else:
            why = "no installed distribution provides it"
        problems.append(f"module '{module}' (imported by {where}): {why}")

    requirement_files = ", ".join(str(file) for file in arguments.requirements)
    if problems:
        print(f"check_imports: modules not provided by {requirement_files}:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print("check_imports: add each one's distribution, pinned (name==version), to the requirements", file=sys.stderr)
        return 1
    print(f"check_imports: {len(importers)} imported modules, each provided by {requirement_files} or the project")
    return 0


if __name__ == "__main__":
    sys.exit(main())
