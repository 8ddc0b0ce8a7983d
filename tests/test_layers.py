"""The layers of DESIGN.md, enforced: import-linter's contracts in pyproject.toml hold for the
package, and break when a wrong-way import is added back."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "reconciler"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter run on the package under `root`, with the contracts in its pyproject."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command;"
            " sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()",
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_package_keeps_every_import_contract() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "contract"),
    [
        ("core/jid.py", "import reconciler.engine.plan", "layers"),
        ("engine/planner.py", "import reconciler.render.text", "layers"),
        ("titan/client.py", "import reconciler.config.load", "layers"),
        ("config/load.py", "import reconciler.titan.client", "layers"),
        ("render/text.py", "import reconciler.watch.watcher", "layers"),
        ("engine/service.py", "import reconciler.sim.app", "Only the CLI imports the simulator"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(
    tmp_path: Path, module: str, wrong_way: str, contract: str
) -> None:
    shutil.copytree(PACKAGE, tmp_path / "reconciler", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    target = tmp_path / "reconciler" / module
    target.write_text(target.read_text() + f"\n{wrong_way}  # added by the test\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
    name = wrong_way.removeprefix("import ")
    assert f"-> {name}" in done.stdout.replace("\n", " ") or name in done.stdout
    if contract != "layers":
        assert contract in done.stdout


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_each_subpackage_declares_its_public_names(subpackage: str) -> None:
    init = PACKAGE / subpackage / "__init__.py"
    tree = ast.parse(init.read_text())
    assert ast.get_docstring(tree), f"{init}: say what the package is for"
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert declared, f"{init}: declare __all__"
    module = importlib.import_module(f"reconciler.{subpackage}")
    modules = {path.stem for path in (PACKAGE / subpackage).glob("*.py")}
    for name in module.__all__:  # a name it holds, or one of its modules
        assert hasattr(module, name) or name in modules, (
            f"reconciler.{subpackage}.__all__ names {name!r}, which is not there"
        )
