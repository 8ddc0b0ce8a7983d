"""The simulator imports nothing of the client it checks.

If it took the client's models or codes, a mistake in them would be on both sides of every
contract test, and the tests would pass with the client and the simulator agreeing with
themselves instead of with titan-api.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import reconciler.sim

CLIENT = "reconciler.titan"


def imported_modules(tree: ast.Module) -> set[str]:
    """Every module a file imports, by its dotted name (`from a import b` counts `a.b` too,
    since `b` may be a module)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_client(module: str) -> bool:
    return module == CLIENT or module.startswith(f"{CLIENT}.")


def test_no_simulator_module_imports_the_client() -> None:
    package = Path(reconciler.sim.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 10  # the walk found the simulator's modules
    offenders = {
        f"{source.relative_to(package)} imports {module}"
        for source in sources
        for module in imported_modules(ast.parse(source.read_text(), str(source)))
        if is_client(module)
    }
    assert not offenders


def test_the_walk_sees_every_spelling_of_an_import_of_the_client() -> None:
    spellings = [
        "import reconciler.titan.client",
        "from reconciler.titan.models import Group",
        "from reconciler.titan import models",
        "from reconciler import titan",
    ]
    for source in spellings:
        assert any(is_client(m) for m in imported_modules(ast.parse(source))), source
    assert not any(is_client(m) for m in imported_modules(ast.parse("import reconciler.titanic")))
