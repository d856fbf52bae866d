"""The tabletop's PyBullet twin: generated from the MuJoCo scene, the same contract, its own physics."""

import numpy as np
import pytest

pytest.importorskip("pybullet")

from envs.robots.panda import REST_POSTURE  # noqa: E402
from envs.tabletop.env import TabletopEnv  # noqa: E402
from envs.tabletop.expert import ScriptedExpert  # noqa: E402
from envs.tabletop.scenes import BLOCK_COLOURS, build_model, get_scene  # noqa: E402
from envs.tabletop_bullet.env import TabletopBulletEnv  # noqa: E402
from envs.tabletop_bullet.sim import BulletPlayTableSim  # noqa: E402
from envs.tabletop_bullet.urdf import build_trees  # noqa: E402
from envs.utils.rotations import mat_to_euler, quat_to_mat  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    sim = BulletPlayTableSim(get_scene("B"))
    yield sim
    sim.close()


def test_every_geom_and_joint_is_converted():
    model = build_model(get_scene("A"))
    trees = build_trees(model)
    geoms = [g for t in trees for g in t.geom_link]
    assert sorted(geoms) == list(range(model.ngeom))
    joints = [j for t in trees for j in t.joint_link]
    assert sorted(joints) == list(range(model.njnt))
    kinds = {t.name: t.kind for t in trees}
    assert kinds["block_red"] == "free" and kinds["drawer"] == "jointed" and kinds["panda_link0"] == "welded"
    assert kinds["world"] == "world"


def test_urdf_roll_pitch_yaw_is_extrinsic_xyz_euler():
    """The URDF origins' rpy (R = Rz(yaw) Ry(pitch) Rx(roll)) are the extrinsic xyz angles of mat_to_euler."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        quat = rng.normal(size=4)
        quat /= np.linalg.norm(quat)
        roll, pitch, yaw = mat_to_euler(quat_to_mat(quat))
        cx, sx, cy, sy, cz, sz = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
        rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        np.testing.assert_allclose(rz @ ry @ rx, quat_to_mat(quat), atol=1e-9)


def test_pybullet_places_every_geom_where_mujoco_does(sim):
    """The generated URDF is the same kinematic tree: for random arm and articulation positions,
    every geom's pose in PyBullet matches MuJoCo's within 1 mm and 1 milliradian."""
    p, rng = sim.p, np.random.default_rng(1)
    for _ in range(3):
        sim.arm.place(sim.data, REST_POSTURE + rng.uniform(-0.4, 0.4, 7), gripper_open=bool(rng.integers(2)))
        for name, high in (("slider", 0.34), ("drawer", 0.18), ("switch", 0.08)):
            sim.set_joint(name, rng.uniform(0, high))
        sim.forward()
        for g, (body, link) in sim._geom_place.items():
            if link == -1:
                pos, quat = p.getBasePositionAndOrientation(body, physicsClientId=sim.client)
            else:
                state = p.getLinkState(body, link, computeForwardKinematics=True, physicsClientId=sim.client)
                pos, quat = state[4], state[5]  # the link's frame (the URDF's), not its centre of mass
            x, y, z, w = quat
            np.testing.assert_allclose(pos, sim.data.geom_xpos[g], atol=1e-3)
            mat = quat_to_mat(np.array([w, x, y, z]))
            np.testing.assert_allclose(mat, sim.data.geom_xmat[g].reshape(3, 3), atol=1e-3)


def test_the_servos_track_joint_targets(sim):
    """Same joint targets: after a second the arm is where MuJoCo's arm is (TCP within 1 mm)."""
    mj = TabletopEnv(cameras=())._sim_for("B")
    target = REST_POSTURE + np.array([0.3, 0.2, -0.2, 0.2, 0.1, -0.2, 0.3])
    tcps = []
    for s in (sim, mj):
        s.arm.place(s.data, REST_POSTURE, gripper_open=True)
        s.forward()
        s.arm.set_joint_targets(s.data, target)
        for _ in range(30):
            s.step()
        tcps.append(s.arm.tcp_pose(s.data)[0])
        np.testing.assert_allclose(s.arm.joint_positions(s.data), target, atol=2e-3)
    np.testing.assert_allclose(tcps[0], tcps[1], atol=1e-3)


def test_blocks_rest_on_the_table_and_contacts_are_labelled(sim):
    sim.arm.place(sim.data, REST_POSTURE, gripper_open=True)
    for i, colour in enumerate(BLOCK_COLOURS):  # placed at rest: touching as soon as placed, as after mj_forward
        half = get_scene("B").half_extents(colour)[2]
        sim.set_block_pose(colour, np.array([-0.1 + 0.1 * i, -0.05, half]), np.array([1.0, 0, 0, 0]))
    sim.forward()
    assert all(sim.snapshot().touching[colour] == {"table"} for colour in BLOCK_COLOURS)
    for i, colour in enumerate(BLOCK_COLOURS):
        sim.set_block_pose(colour, np.array([-0.1 + 0.1 * i, -0.05, 0.03]), np.array([1.0, 0, 0, 0]))
    sim.forward()
    sim.step(240)
    snapshot = sim.snapshot()
    for colour in BLOCK_COLOURS:
        assert snapshot.touching[colour] == {"table"}
        assert abs(snapshot.block_pos[colour][2] - get_scene("B").half_extents(colour)[2]) < 2e-3


def _episode(env, task, seed):
    obs, info = env.reset(seed=seed, options={"task": task})
    expert = ScriptedExpert(env)
    expert.reset(obs["instruction"])
    steps = 0
    while steps < 360:
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        steps += 1
        if terminated or truncated:
            break
    return info["success"], steps, obs["scene_obs"]


def test_the_expert_solves_tasks_in_the_twin_and_a_seed_is_one_episode():
    """The scripted expert, unchanged, solves the twin's tasks; the same seed gives the same episode
    whatever ran before it in the process (PyBullet's caches do not leak across resets)."""
    env = TabletopBulletEnv(cameras=())
    try:
        for task in ("open_drawer", "lift_blue_block_table", "turn_on_led"):
            success, _, _ = _episode(env, task, 3)
            assert success, task
        first = _episode(TabletopBulletEnv(cameras=()), "push_red_block_left", 11)
        again = _episode(env, "push_red_block_left", 11)
        assert first[:2] == again[:2]
        np.testing.assert_array_equal(first[2], again[2])
    finally:
        env.close()


def test_the_twin_renders_both_cameras():
    env = TabletopBulletEnv(resolution={"static": 64, "gripper": 32})
    try:
        obs, _ = env.reset(seed=0, options={"task": "open_drawer"})
        static, gripper = obs["rgb_static"], obs["rgb_gripper"]
        assert static.shape == (64, 64, 3) and gripper.shape == (32, 32, 3)
        assert static.dtype == np.uint8 and static.std() > 10 and gripper.std() > 5
        # a varied table colour shows in the picture
        plain = env.render()
        blue = {"table_appearance": {"rgb": [0.1, 0.6, 0.9], "grain_rgb": [0.1, 0.5, 0.8]}}
        env.reset(seed=0, options={"task": "open_drawer", "variations": blue})
        assert np.abs(env.render().astype(int) - plain.astype(int)).mean() > 1
    finally:
        env.close()


def test_cross_sim_pairs_every_released_tabletop_episode_with_its_twin():
    """`cross-sim` v1: the tabletop's seen and unseen v3 episodes as released, in MuJoCo and in the
    twin, the same seed, task, instruction and variations on both sides."""
    from dataclasses import replace

    from gr_bench.suites import get_suite

    suite = get_suite("cross-sim", 1)
    halves = {"GRBench/Tabletop-v0": {}, "GRBench/TabletopBullet-v0": {}}
    for e in suite.episodes:
        simulator, rest = e.episode_id.split("/", 1)
        assert simulator == {"GRBench/Tabletop-v0": "mujoco", "GRBench/TabletopBullet-v0": "pybullet"}[e.env_id]
        halves[e.env_id][rest] = e
    mujoco, twin = halves.values()
    released = {e.episode_id: e for name in ("seen", "unseen") for e in get_suite(name, 3).episodes}
    assert mujoco.keys() == twin.keys() and mujoco.keys() <= released.keys()
    assert len(mujoco) == sum(e.env_id == "GRBench/Tabletop-v0" for e in released.values())
    for rest, e in mujoco.items():
        assert replace(e, episode_id=rest) == released[rest]
        assert replace(twin[rest], env_id=e.env_id, episode_id=rest) == released[rest]


def test_an_evaluation_without_pybullet_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    """Without the [bullet] extra, an evaluation with twin episodes stops before it starts: one line,
    the install command, no run directory; the MuJoCo half alone still runs."""
    import importlib.util

    from gr_bench.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pybullet" else real(name, *a))
    out = tmp_path / "run"
    assert main(["eval", "--agent", "oracle", "--suite", "cross-sim", "--episodes", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs pybullet" in err[0] and "pip install -e '.[bullet]'" in err[0]
    assert not out.exists()
    assert main(["eval", "--agent", "oracle", "--suite", "cross-sim", "--track", "tabletop", "--episodes", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    data = tmp_path / "data"  # collecting in the twin is refused the same way
    assert main(["collect", "--suite", "seen", "--env", "GRBench/TabletopBullet-v0", "--episodes-per-task", "1",
                 "--out", str(data)]) == 2  # fmt: skip
    assert "pip install -e '.[bullet]'" in capsys.readouterr().err and not data.exists()
