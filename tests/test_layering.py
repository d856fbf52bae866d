"""Import directions: envs never imports torch, agents or gr_bench; agents never imports envs;
importing gr_bench pulls in neither torch nor mujoco."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(statement: str) -> set[str]:
    """Full names of the modules loaded in a fresh interpreter after running ``statement``."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def _under(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_gr_bench_import_is_light():
    loaded = _modules_after(
        "import gr_bench, gr_bench.cli, gr_bench.video, gr_bench.evaluator, gr_bench.suites, gr_bench.results, "
        "gr_bench.report, gr_bench.agents"
    )
    assert not _under(loaded, "torch")
    assert not _under(loaded, "mujoco")


def test_envs_import_no_torch_no_agents():
    loaded = _modules_after("import envs\nimport envs.tabletop.env\nimport envs.tabletop.expert")
    assert "envs.tabletop.env" in loaded  # the statement did run
    assert not _under(loaded, "torch")
    assert not _under(loaded, "agents")
    assert not _under(loaded, "gr_bench")


def test_importing_envs_alone_is_cheap():
    # registration is by string entry point: MuJoCo loads only when an environment is made
    loaded = _modules_after("import envs")
    assert not _under(loaded, "mujoco")


def test_agents_import_no_envs():
    loaded = _modules_after("import agents")
    assert not _under(loaded, "envs")


# --- static check: the source, not just what one import happens to execute ------------------
def _imported_names(path: Path) -> set[str]:
    """Top-level packages a file imports, including importlib.import_module("x") / __import__("x")."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value.split(".")[0])
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("envs", {"torch", "agents", "gr_bench"}), ("agents", {"envs"})],
)
def test_static_import_directions(package, forbidden):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    bad = {str(p.relative_to(ROOT)): sorted(_imported_names(p) & forbidden) for p in files}
    bad = {p: m for p, m in bad.items() if m}
    assert not bad, f"{package} must not import {sorted(forbidden)}: {bad}"
