"""The cloth table (issue 17, first part): garments, the grasp rule, the oracles, the env, the expert."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import expert_episode

from envs.cloth.env import GARMENTS, ClothEnv, laid_out
from envs.cloth.expert import ClothExpert, fit_flat
from envs.cloth.garments import Garment
from envs.cloth.sim import CONTROL_DT, PANDA_RACK, ClothSnapshot
from envs.cloth.tasks import FOLD_TOLERANCE, HangMilestones, Scorer, coverage, get_task, max_coverage, over_bar


@pytest.fixture(scope="module")
def env():
    e = ClothEnv(cameras=())
    yield e
    e.close()


# --- garments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["square", "towel", "tshirt"])
def test_every_fold_maps_the_moving_part_onto_its_mirror_image(shape):
    garment = GARMENTS[shape]
    rest = garment.points
    for fold in garment.folds:
        moving, onto = garment.mirror(fold)
        assert len(set(onto.tolist())) == len(onto)  # one landing vertex each
        assert not set(moving.tolist()) & set(onto.tolist())
        # the landing vertex is the moving one reflected: equal distance from the fold line
        midpoints = 0.5 * (rest[moving] + rest[onto])
        directions = rest[onto] - rest[moving]
        if fold in ("left", "right"):
            np.testing.assert_allclose(midpoints[:, 0], 0.0, atol=1e-9)
            np.testing.assert_allclose(directions[:, 1], 0.0, atol=1e-9)
        elif fold in ("near", "far"):
            np.testing.assert_allclose(midpoints[:, 1], 0.0, atol=1e-9)
        else:  # a diagonal: the fold line is one of the square's diagonals
            on_line = np.abs(midpoints[:, 0] - midpoints[:, 1]) < 1e-9
            on_other = np.abs(midpoints[:, 0] + midpoints[:, 1]) < 1e-9
            assert on_line.all() or on_other.all()


def test_a_tshirt_has_no_diagonal_fold_and_says_so():
    with pytest.raises(ValueError, match="no fold 'diagonal_ll'"):
        GARMENTS["tshirt"].mirror("diagonal_ll")
    assert not get_task("fold_diagonally").feasible(GARMENTS["tshirt"])
    assert not get_task("hang").feasible(GARMENTS["tshirt"]) and get_task("hang").feasible(GARMENTS["towel"])


def test_bad_garments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="width and length"):
        Garment("square", 2.0, 0.3)
    with pytest.raises(ValueError, match="garment shape"):
        Garment("trousers")


# --- oracles ----------------------------------------------------------------------------------
def test_coverage_of_a_flat_garment_is_its_area_and_a_folded_one_about_half():
    garment = GARMENTS["square"]
    flat = np.c_[garment.points, np.zeros(len(garment.points))]
    assert coverage(garment, flat) == pytest.approx(max_coverage(garment))
    assert max_coverage(garment) == pytest.approx(garment.area, rel=0.1)
    folded = laid_out(garment, {"pose": [0, 0, 0], "folds": [[0.0, 0.0, 1]]})  # in half across x
    assert coverage(garment, folded) / max_coverage(garment) == pytest.approx(0.5, abs=0.08)


def test_a_mirrored_half_scores_a_fold_and_a_flat_garment_does_not():
    garment, task = GARMENTS["square"], get_task("fold_in_half")
    flat = np.c_[garment.points, np.zeros(len(garment.points))]
    scorer = Scorer(task, garment, ClothSnapshot(flat, frozenset()))
    ok, progress, _ = scorer.evaluate(ClothSnapshot(flat, frozenset()))
    assert not ok and progress == 0.0
    moving, onto = garment.mirror("left")
    folded = flat.copy()
    folded[moving] = flat[onto] + [0, 0, 0.006]
    ok, progress, details = scorer.evaluate(ClothSnapshot(folded, frozenset()))
    assert ok and details["fold"] == "left" and details["landing"] < FOLD_TOLERANCE and progress > 0.9
    # held: not done until it is let go
    assert not scorer.evaluate(ClothSnapshot(folded, frozenset({0})))[0]
    # the fixed half dragged along: no fold
    dragged = folded + [0.1, 0, 0]
    assert not scorer.evaluate(ClothSnapshot(dragged, frozenset()))[0]


def test_fold_tolerances_grow_with_the_garment():
    garment, task = GARMENTS["square"], get_task("fold_in_half")
    flat = np.c_[garment.points, np.zeros(len(garment.points))]
    moving, onto = garment.mirror("left")
    loose = flat.copy()
    loose[moving] = flat[onto] + [0, 1.2 * FOLD_TOLERANCE, 0.006]  # every vertex lands 4.8 cm off
    start = ClothSnapshot(flat, frozenset())
    assert not Scorer(task, garment, start).evaluate(ClothSnapshot(loose, frozenset()))[0]
    assert Scorer(task, garment, start, scale=1.3).evaluate(ClothSnapshot(loose, frozenset()))[0]


def test_the_flat_fit_finds_the_flat_part_of_a_folded_garment():
    garment = GARMENTS["square"]
    state = {"pose": [0.02, -0.1, 0.2], "folds": [[0.3, 0.2, 1]]}
    now = laid_out(garment, state)
    flat = fit_flat(garment, now)
    in_place = np.linalg.norm(flat - now[:, :2], axis=1) < 0.01
    assert in_place.mean() > 0.5  # the larger, unfolded part


# --- the grasp rule ---------------------------------------------------------------------------
def _lower_onto(env, xy, gripper_open: bool, steps: int = 40):
    """Drive the TCP down to a pinch at ``xy`` with the gripper open, then set it as asked."""
    sim = env.sim
    for _ in range(steps):
        pos, _ = sim.arm.tcp_pose(sim.data)
        target = np.r_[xy, 0.008]
        action = np.r_[np.clip((target - pos) / 0.02, -1, 1), 0, 0, 0, 1.0]
        env.step(action)
    for _ in range(20):
        env.step(np.r_[0, 0, 0, 0, 0, 0, 1.0 if gripper_open else -1.0])


def test_a_closed_pinch_on_the_cloth_holds_it_and_opening_lets_go(env):
    env.reset(seed=0, options={"task": "fold_in_half", "scene": "square"})
    corner = env.garment.corners[0]
    _lower_onto(env, env.sim.particles()[corner, :2], gripper_open=False)
    held = env.sim.held()
    assert held.size > 0
    for _ in range(15):
        env.step(np.r_[0, 0, 1.0, 0, 0, 0, -1.0])  # lift
    assert env.sim.particles()[held, 2].mean() > 0.1  # came up with the hand
    env.step(np.r_[0, 0, 0, 0, 0, 0, 1.0])
    assert env.sim.held().size == 0


def test_an_open_gripper_at_the_cloth_or_a_closed_one_away_from_it_holds_nothing(env):
    env.reset(seed=0, options={"task": "fold_in_half", "scene": "square"})
    corner = env.garment.corners[0]
    _lower_onto(env, env.sim.particles()[corner, :2], gripper_open=True)
    assert env.sim.held().size == 0
    env.reset(seed=0, options={"task": "fold_in_half", "scene": "square"})
    _lower_onto(env, np.array([0.35, -0.3]), gripper_open=False)  # bare table
    assert env.sim.held().size == 0


# --- the environment --------------------------------------------------------------------------
def test_reset_reproduces_a_crumpled_start_from_its_recorded_state(env):
    _, info = env.reset(seed=3, options={"task": "flatten", "scene": "towel"})
    first = env.sim.particles()
    assert info["initial_state"]["folds"]
    _, again = env.reset(seed=99, options={"task": "flatten", "scene": "towel", "initial_state": info["initial_state"]})
    np.testing.assert_allclose(env.sim.particles(), first, atol=1e-9)
    assert again["score"]["coverage"] < 0.8  # crumpled: a fold hides part of it


def test_observations_and_actions_keep_the_tabletop_contract():
    e = ClothEnv(resolution={"static": 64, "gripper": 32})
    obs, info = e.reset(seed=0, options={"task": "fold_diagonally"})
    assert obs["rgb_static"].shape == (64, 64, 3) and obs["rgb_gripper"].shape == (32, 32, 3)
    assert obs["robot_obs"].shape == (15,) and obs["scene_obs"].shape == e.observation_space["scene_obs"].shape
    assert obs["scene_obs"][1] == len(e.garment.points)
    obs, reward, terminated, truncated, info = e.step(e.no_op_action())
    assert not terminated and info["max_steps"] == 200 and 0.0 <= info["progress"] <= 1.0
    e.close()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda e: e.reset(options={"task": "iron"}), "cloth task"),
        (lambda e: e.reset(options={"scene": "jeans"}), "garment shape"),
        (lambda e: e.reset(options={"task": "fold_diagonally", "scene": "tshirt"}), "no fold on a tshirt"),
        (lambda e: e.reset(options={"variations": {"stiffness": -1}}), "stiffness"),
        (lambda e: e.reset(options={"colour": 1}), "unknown reset options"),
    ],
)
def test_bad_requests_say_what_was_wrong(env, call, message):
    with pytest.raises(ValueError, match=message):
        call(env)


def test_an_invalid_request_is_met_by_keeping_still(env):
    _, info = env.reset(seed=0, options={"task": "absent_garment"})
    for _ in range(5):
        _, _, terminated, _, info = env.step(env.no_op_action())
    assert info["success"] and not terminated and env.untouched()


def test_the_expert_folds_the_square_diagonally(env):
    obs, info = env.reset(seed=3, options={"task": "fold_diagonally", "scene": "square"})
    expert = ClothExpert(env)
    expert.reset()
    info = expert_episode(env, expert, obs)
    assert info["success"], info["score"]


# --- hanging on the rack ------------------------------------------------------------------------
def _draped(garment: Garment, offset: float = 0.0) -> np.ndarray:
    """The flat garment laid across the bar, its middle ``offset`` m past the bar's axis (+x)."""
    return np.c_[
        garment.points[:, 0] + PANDA_RACK.centre[0] + offset,
        garment.points[:, 1] + PANDA_RACK.centre[1],
        np.full(len(garment.points), PANDA_RACK.centre[2] + 0.02),
    ]


def test_hang_milestones_latch_in_order_and_success_needs_two_still_seconds():
    garment = GARMENTS["square"]
    flat = np.c_[garment.points, np.zeros(len(garment.points))]
    milestones = HangMilestones(PANDA_RACK, 0.0)
    d = milestones.update(ClothSnapshot(flat, frozenset()))
    assert not any(d[n] for n in HangMilestones.NAMES)
    d = milestones.update(ClothSnapshot(flat, frozenset({0})))
    assert d["grasped"] and not d["lifted"]
    d = milestones.update(ClothSnapshot(flat + [0, 0, 0.2], frozenset({0})))
    assert d["lifted"] and not d["over_bar"]
    # hanging down both sides of the bar, still: over the bar at once, hanging after 2 s
    hung = flat.copy()
    hung[:, 0] = np.where(garment.points[:, 0] < 0, PANDA_RACK.centre[0] - 0.02, PANDA_RACK.centre[0] + 0.02)
    hung[:, 1] = garment.points[:, 1] + PANDA_RACK.centre[1]
    hung[:, 2] = PANDA_RACK.centre[2] - np.abs(garment.points[:, 0])
    steps = 0
    while not (d := milestones.update(ClothSnapshot(hung, frozenset())))["hanging"]:
        assert d["over_bar"] and d["grasped"] and d["lifted"]
        steps += 1
    assert steps * CONTROL_DT == pytest.approx(2.0, abs=2 * CONTROL_DT)
    # on the table again: no longer over the bar, but what was reached stays reached
    d = milestones.update(ClothSnapshot(flat, frozenset()))
    assert not d["on_bar"] and d["hanging"]
    # a moving garment never counts as hanging
    swinging = HangMilestones(PANDA_RACK, 0.0)
    for k in range(60):
        d = swinging.update(ClothSnapshot(hung + [0.01 * (k % 2), 0, 0], frozenset()))
    assert d["over_bar"] and not d["hanging"]


def test_hang_milestones_read_the_rack_and_table_they_are_given():
    """A bar along x (ByteMini's room), a table 0.74 m high: lifted counts from the table top, and
    the garment must hang on both sides of the bar across y."""
    from envs.cloth_bytemini.sim import ROOM_RACK, TABLE_Z

    garment = GARMENTS["square"]
    flat = np.c_[garment.points, np.full(len(garment.points), TABLE_Z)]
    milestones = HangMilestones(ROOM_RACK, TABLE_Z)
    d = milestones.update(ClothSnapshot(flat + [0, 0, 0.05], frozenset({0})))
    assert d["grasped"] and not d["lifted"]  # 0.79 m up, but 5 cm above the table
    assert milestones.update(ClothSnapshot(flat + [0, 0, 0.15], frozenset({0})))["lifted"]
    bar = ROOM_RACK.centre
    across_y = np.c_[
        garment.points[:, 1] + bar[0],  # along the bar
        np.where(garment.points[:, 0] < 0, bar[1] - 0.02, bar[1] + 0.02),  # either side of it
        bar[2] - np.abs(garment.points[:, 0]),
    ]
    assert over_bar(across_y, ROOM_RACK) == {"on_bar": True, "both_sides": True}
    # the same drape 30 cm to the left hangs beside the bar, not over it
    assert over_bar(across_y + [0, 0.3, 0], ROOM_RACK) == {"on_bar": False, "both_sides": False}


def test_the_rack_is_there_for_hang_only_and_a_garment_laid_over_it_stays(env):
    env.reset(seed=0, options={"task": "fold_in_half", "scene": "square"})
    assert not env.sim.rack_in_place
    env.reset(seed=0, options={"task": "hang", "scene": "square"})
    assert env.sim.rack_in_place
    env.sim.set_particles(_draped(env.garment))
    env.sim.forward()
    for _ in range(200):
        _, _, terminated, _, info = env.step(env.no_op_action())
        if terminated:
            break
    assert info["success"] and info["progress"] == pytest.approx(0.5)  # hangs, was never held or lifted
    assert env.sim.particles()[:, 2].min() > 0.05  # off the table
    with pytest.raises(ValueError, match="square and towel only"):
        env.reset(seed=0, options={"task": "hang", "scene": "tshirt"})


@pytest.mark.parametrize(
    "scene, variations",
    # the towel; the square at the top of the unseen size range, which hung from its middle reaches
    # the table from the bar (docs/cloth.md, "Hanging on the rack")
    [("towel", {}), ("square", {"garment_size": 1.4})],
)
def test_the_expert_hangs_the_garment(env, scene, variations):
    obs, info = env.reset(seed=1, options={"task": "hang", "scene": scene, "variations": variations})
    expert = ClothExpert(env)
    expert.reset()
    milestones = []
    for _ in range(env.max_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs))
        milestones += [n for n in HangMilestones.NAMES if info["score"][n] and n not in milestones]
        if terminated or truncated:
            break
    assert info["success"] and milestones == list(HangMilestones.NAMES), info["score"]


def test_a_hang_pickled_midway_goes_on_exactly_as_the_original(env):
    import pickle

    obs, _ = env.reset(seed=2, options={"task": "hang", "scene": "square"})
    expert = ClothExpert(env)
    expert.reset()
    for _ in range(190):  # carried across the bar, the milestones part reached
        obs, _, _, _, info = env.step(expert.act(obs))
    assert info["score"]["over_bar"]
    copy = pickle.loads(pickle.dumps(env))
    actions = [env.no_op_action()] * 30
    for action in actions:
        _, _, _, _, info = env.step(action)
        _, _, _, _, info_copy = copy.step(action)
        assert info_copy["score"] == info["score"] and info_copy["progress"] == info["progress"]
    np.testing.assert_array_equal(copy.sim.particles(), env.sim.particles())
    copy.close()


def test_the_shipped_gr3_acts_on_the_cloth_table_as_on_the_tabletop():
    """Same Panda, cameras, state and actions as the tabletop: GR-3's tabletop adapter serves it."""
    from gr_bench.agents import make_agent

    e = ClothEnv()
    obs, _ = e.reset(seed=0, options={"task": "fold_in_half"})
    agent = make_agent("gr3", {})
    agent.bind_action_space(e.action_space)
    agent.reset(obs["instruction"])
    action, status = agent.act({k: v for k, v in obs.items() if k != "scene_obs"})
    assert action.shape == (7,) and np.all(np.abs(action) <= 1.0) and isinstance(status, str)
    e.step(action)
    e.close()


def test_the_speed_breakdown_compiles_each_elasticity_and_times_it():
    """scripts/cloth_speed_breakdown.py (docs/cloth.md, "Speed and stability"): one row per flex
    elasticity, each a measured rate."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "cloth_speed_breakdown.py"
    spec = importlib.util.spec_from_file_location("cloth_speed_breakdown", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.elasticity_rows(steps=3)
    assert [r.split("|")[1].strip() for r in rows] == [f"elastic2d={k}" for k in ("both", "stretch", "bend", "none")]
    assert all(float(r.split("|")[2].split()[0]) > 0 for r in rows)
