"""Environment families are declared once, in their descriptors (``envs/family.py``), and the harness
reads only those: it names no family, and a family registered from a test module works with every
command (play, collect, eval with the oracle, suites as a new track, reports, perf figures)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the built-in families)
from envs.family import Family, families, family_for_robot, family_named, family_of

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = [f for f in families() if f.id in ("tabletop", "tidy", "cloth", "cloth_bytemini", "tabletop_bullet")]


def test_the_built_in_families_are_registered_in_order():
    assert [f.id for f in families()][:5] == ["tabletop", "tidy", "cloth", "cloth_bytemini", "tabletop_bullet"]
    for family in BUILT_IN:
        assert family.env_id in gym.registry
        assert family_named(family.id) is family_named(family.env_id) is family
        # a robot's first family answers for it (the Panda: tabletop; ByteMini: the tidying room)
        assert family_for_robot(family.robot) is next(f for f in families() if f.robot == family.robot)
    with pytest.raises(ValueError, match="unknown environment"):
        family_named("kitchen")


def test_the_harness_names_no_family():
    """Outside the registration (envs/), no family id, environment id or robot name appears in
    gr_bench/, in code, strings, comments or docstrings."""
    names = set()
    for family in BUILT_IN:
        names |= {family.id, family.env_id.split("/")[1].split("-")[0], family.robot}
    names |= {"tabletop_arm"}  # GR-3's adapter name for the tabletop's arm
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")", re.IGNORECASE)
    found = []
    for path in sorted((ROOT / "gr_bench").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "the harness names a family; read it from the descriptors instead:\n" + "\n".join(found)


@pytest.mark.parametrize("family", BUILT_IN, ids=lambda f: f.id)
def test_a_family_keeps_its_contract(family: Family):
    """What the descriptor says matches the environment, and the contract's methods exist."""
    env = gym.make(family.env_id, cameras=()).unwrapped
    try:
        assert family_of(env) is family
        spaces = env.observation_space
        assert spaces["robot_obs"].shape == (len(family.robot_obs_names),)
        assert spaces["scene_obs"].shape == (len(family.scene_obs_names),)
        assert env.action_space.shape == (family.action_dim,) == (len(env.action_spec["layout"]),)
        _, info = env.reset(seed=0, options={"task": family.default_task, "scene": family.training_scenes[0]})
        assert info["success"] is False and env.untouched()
        no_op = env.no_op_action()
        assert no_op.shape == env.action_space.shape and np.all(np.isfinite(no_op))
        env.step(no_op)
        assert env.untouched()  # staying still touches nothing
    finally:
        env.close()
    assert set(family.training_scenes) <= set(family.scenes)
    assert family.tasks() and all(family.instructions(t, "train") for t in list(family.tasks())[:3])
    assert family.invalid_training_requests()
    assert set(family.scene_axes) <= set(family.axes())
    assert family.expert_class().__name__
    suites = {"smoke", "seen", "unseen", "ood-instruction", "long-horizon", "cross-sim"}
    assert {t.suite for t in family.tracks()} <= suites


def _gr_bench(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "GR_BENCH_FAMILIES": "reach_family",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")])),
        "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "gr_bench.cli", *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_a_family_from_a_test_module_works_with_every_command(tmp_path):
    """tests/reach_family.py registers a one-task family; no file of gr_bench/ knows it."""
    listing = _gr_bench(["ls", "suites"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    seen = next(line for line in listing.stdout.splitlines() if line.startswith("seen "))
    assert "reach 4" in seen and "tabletop 204" in seen  # a new version of seen: the old tracks and the new one

    tasks = _gr_bench(["tasks", "--env", "reach"], tmp_path)
    assert tasks.returncode == 0 and "reach_target" in tasks.stdout, tasks.stderr

    play = _gr_bench(["play", "--env", "GRBenchTest/Reach-v0", "--size", "64", "--out", "reach.gif"], tmp_path)
    assert play.returncode == 0, play.stderr
    assert (tmp_path / "reach.gif").stat().st_size > 0 and "success" in play.stdout

    collect = _gr_bench(
        ["collect", "--suite", "seen", "--env", "reach", "--episodes-per-task", "2", "--out", "d"], tmp_path
    )
    assert collect.returncode == 0, collect.stderr
    info = json.loads((tmp_path / "d" / "meta" / "info.json").read_text())
    assert info["robot_type"] == "point_mass" and info["total_episodes"] == 2
    assert info["features"]["action"]["names"] == ["dx", "dy"]

    run = _gr_bench(["eval", "--agent", "oracle", "--suite", "seen", "--track", "reach", "--out", "r"], tmp_path)
    assert run.returncode == 0, run.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["aggregates"]["overall"]["successes"] == results["aggregates"]["overall"]["n"] == 4
    assert {e["env_id"] for e in results["episodes"]} == {"GRBenchTest/Reach-v0"}
    assert (tmp_path / "r" / "report.html").stat().st_size > 0

    figure = subprocess.run(
        [sys.executable, "-m", "pytest", "bench_families.py", "-k", "reach", "-q", "--benchmark-min-rounds", "1"],
        cwd=ROOT / "benchmarks",
        env={**os.environ, "GR_BENCH_FAMILIES": "reach_family", "PYTHONPATH": str(ROOT / "tests")},
        capture_output=True,
        text=True,
    )
    assert figure.returncode == 0 and "test_family_step[reach]" in figure.stdout, figure.stdout[-2000:]


def test_without_the_module_the_family_is_unknown(tmp_path):
    out = _gr_bench(
        ["eval", "--agent", "oracle", "--suite", "seen", "--track", "reach"], tmp_path, GR_BENCH_FAMILIES=""
    )
    assert out.returncode == 2 and "track" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()
    bad = _gr_bench(["ls", "suites"], tmp_path, GR_BENCH_FAMILIES="no_such_family_module")
    assert bad.returncode != 0 and "GR_BENCH_FAMILIES" in bad.stderr


@pytest.mark.parametrize("family", BUILT_IN, ids=lambda f: f.id)
def test_every_axis_is_undone_by_the_next_reset(family: Family):
    """An episode under any one axis leaves nothing behind: the next plain reset renders the same
    first image as one before it (the lighting direction of the Panda cloth table once leaked)."""
    rng = np.random.default_rng(0)
    env = gym.make(family.env_id).unwrapped
    options = {"task": family.default_task, "scene": family.training_scenes[0]}
    camera = f"rgb_{family.cameras[0].name}"
    try:
        before, _ = env.reset(seed=0, options=options)
        for name, axis in family.axes().items():
            if name in family.scene_axes:
                continue
            env.reset(seed=0, options={**options, "variations": {name: axis.sample("unseen", rng)}})
            after, _ = env.reset(seed=0, options=options)
            assert np.array_equal(before[camera], after[camera]), f"axis {name} outlived its episode"
    finally:
        env.close()
