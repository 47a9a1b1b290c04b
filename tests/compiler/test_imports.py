"""Every module of the compiler imports on its own, first, in a fresh interpreter (the op
modules and the lowering import each other: a module-level import there is a cycle that
only shows when that module is the first one loaded)."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts)
                 for p in (ROOT / "compiler").rglob("*.py") if p.name != "__init__.py")


def test_the_module_list_is_not_empty():
    assert "compiler.lower" in MODULES and "compiler.ops.recurrent" in MODULES


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
