"""The import directions of DESIGN.md: envs never imports torch or agents; agents never imports
envs; importing gr_bench pulls in neither torch nor mujoco."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return {name.split(".")[0] for name in out.stdout.split()}


def test_gr_bench_import_is_light():
    loaded = _loaded_after("import gr_bench, gr_bench.cli")
    assert "torch" not in loaded and "mujoco" not in loaded


def test_envs_import_no_torch_no_agents():
    loaded = _loaded_after("import envs, envs.tabletop.env, envs.tabletop.expert")
    assert "torch" not in loaded and "agents" not in loaded and "gr_bench" not in loaded


def test_agents_import_no_envs():
    assert "envs" not in _loaded_after("import agents")


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(str(path), a.name.split(".")[0]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path), node.module.split(".")[0]))
    return found


@pytest.mark.parametrize(("package", "forbidden"), [("envs", {"torch", "agents", "gr_bench"}), ("agents", {"envs"})])
def test_static_import_directions(package, forbidden):
    bad = [(p, m) for p, m in _imports(package) if m in forbidden]
    assert not bad, f"{package} must not import {forbidden}: {bad}"
