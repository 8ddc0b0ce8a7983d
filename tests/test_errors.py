"""The exception tree: drawn in errors.py's docstring as it is, and raised by what failed."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from reconciler import errors

PACKAGE = Path(errors.__file__).parent


def test_the_docstring_draws_every_error_class() -> None:
    drawn = errors.__doc__ or ""
    classes = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.GroupctlError)
    ]
    assert len(classes) > 20
    for name in classes:
        assert name in drawn, f"errors.py's docstring does not draw {name}"


def test_setup_errors_are_raised_by_what_failed_never_as_setup_error() -> None:
    raised = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id == "SetupError"
            ):
                raised.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert raised == [], "raise UsageError, FileAccessError or SettingsError instead"
