"""Suites v3 (issue 16): CALVIN's chains in full (pushes included, each chain the first candidate
feasible on its realised start, pinned), blind-solvable starts screened (pinned seeds), tasks whose
blind success the scene sets scored beside the headline, and every v3 episode scored by rules 3."""

import json

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401
from envs.tabletop.chains import CHAIN_LENGTH, candidate, infeasibility
from envs.tabletop.feasibility import chain_infeasibility
from envs.tabletop.state import SymbolicState
from envs.tabletop.tasks import TASKS
from envs.tabletop.tracks import (
    BLIND_MOTIONS,
    LONG_HORIZON_PROTOCOLS,
    SCREENED_SEEDS,
    chain_pins,
    unscreened_v3_episodes,
)
from gr_bench.results import aggregate
from gr_bench.suites import get_suite

PUSHES = {t for t, task in TASKS.items() if task.category in ("push_block", "push_into_drawer")}


@pytest.fixture(scope="module")
def env():
    env = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped
    yield env
    env.close()


def _feasible(env, chain) -> bool:
    return infeasibility(env, chain) is None


def _check_pins(env, protocol, scenes, indices) -> None:
    pins = chain_pins()[protocol]
    for i in indices:
        k = pins[i]
        assert _feasible(env, candidate(protocol, i, k, scenes)), f"{protocol} #{i}: pinned candidate {k} infeasible"
        for earlier in range(k):  # the first feasible one: every candidate before it fails a check
            assert not _feasible(env, candidate(protocol, i, earlier, scenes)), f"{protocol} #{i}: {earlier} passes"


@pytest.mark.parametrize(("protocol", "scenes"), LONG_HORIZON_PROTOCOLS)
def test_pinned_chains_are_the_first_feasible_candidates(env, protocol, scenes):
    pins = chain_pins()[protocol]
    assert len(pins) == 1000
    _check_pins(env, protocol, scenes, range(0, 1000, 97))


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "scenes"), LONG_HORIZON_PROTOCOLS)
def test_every_pinned_chain(env, protocol, scenes):
    _check_pins(env, protocol, scenes, range(1000))


def test_long_horizon_v3_holds_calvins_chains_in_full():
    suite = get_suite("long-horizon", 3)
    chains = [e for e in suite.episodes if e.env_id == "GRBench/Tabletop-v0"]
    assert len(chains) == 2000 and {e.axis for e in chains} == {"long_horizon_ABC-D", "long_horizon_ABCD-D"}
    assert all(e.rules == 3 for e in suite.episodes)
    assert {e.scene for e in chains if e.axis == "long_horizon_ABC-D"} == {"D"}
    used = {t for e in chains for t in e.tasks}
    assert used >= PUSHES, f"pushes never drawn: {sorted(PUSHES - used)}"
    for e in chains:
        assert len(e.tasks) == CHAIN_LENGTH and len({TASKS[t].category for t in e.tasks}) == CHAIN_LENGTH
        assert TASKS[e.tasks[0]].precondition(SymbolicState(**e.initial_state))
    # v2 is untouched: no pushes
    assert not PUSHES & {t for e in get_suite("long-horizon", 2).episodes for t in e.tasks}


def test_a_block_against_furniture_or_a_push_after_a_stack_is_infeasible(env):
    start = SymbolicState(slider="left", drawer="closed", lightbulb=0, led=0, red="table", blue="table", pink="drawer")
    env.reset(seed=3, options={"task": "turn_on_led", "scene": "A", "initial_state": start.as_dict()})
    assert chain_infeasibility(env, start, ("turn_on_led",)) is None
    why = chain_infeasibility(env, start, ("lift_red_block_table", "stack_block", "push_blue_block_left"))
    assert why == "push_blue_block_left follows a task that sets a block down on the desk"
    why = chain_infeasibility(env, start, ("rotate_red_block_left", "push_red_block_right"))
    assert why == "push_red_block_right follows rotate_red_block_left, which moves a block it may push"
    # a pushed block comes to rest where the push leaves it: no later task may need it
    for seed in range(40):
        env.reset(seed=seed, options={"task": "push_red_block_left", "scene": "A", "initial_state": start.as_dict()})
        if chain_infeasibility(env, start, ("push_red_block_left",)) is None:
            break
    else:
        pytest.fail("no start in 40 seeds leaves room to push the red block left")
    why = chain_infeasibility(env, start, ("push_red_block_left", "turn_on_led", "lift_red_block_table"))
    assert (
        why == "lift_red_block_table follows push_red_block_left and needs the pushed block (or the drawer it filled)"
    )
    assert chain_infeasibility(env, start, ("push_red_block_left", "lift_blue_block_table")) is None
    # the red block moved against the light switch's base: touching furniture
    switch = np.array([*env.sim.scene.switch_xy, 0.02])
    env.sim.set_block_pose("red", switch + [0.0, -0.045, 0.0], np.array([1.0, 0, 0, 0]))
    for _ in range(20):
        env.sim.step()
    assert "red block touches" in (chain_infeasibility(env, start, ("turn_on_led",)) or "")


def test_screened_seeds_are_pinned_for_every_flagged_episode():
    pins = json.loads(SCREENED_SEEDS.read_text())
    flagged = set(pins["flags"]["tasks"])
    assert flagged and set(pins["beside_headline"]) <= flagged
    for name in ("seen", "unseen", "ood-instruction"):
        suite = get_suite(name, 3)
        before = {e.episode_id: e for e in unscreened_v3_episodes(name)}
        for e in suite.episodes:
            assert e.rules == 3
            if e.env_id != "GRBench/Tabletop-v0":
                continue
            valid_flagged = e.tasks[0] in flagged and e.instruction_category != "invalid"
            assert (e.episode_id in pins["seeds"]) == valid_flagged
            assert e.seed == pins["seeds"].get(e.episode_id, before[e.episode_id].seed)
            assert e.headline == (not valid_flagged or e.tasks[0] not in pins["beside_headline"])


def test_a_screened_start_is_chosen_again():
    """Re-screening a sample with the motions it was screened against picks the pinned seeds."""
    from envs.blind_screen import screen_episodes

    motions = np.load(BLIND_MOTIONS)
    pins = json.loads(SCREENED_SEEDS.read_text())
    episodes = [e for e in unscreened_v3_episodes("seen") if e.episode_id in pins["seeds"]][::12]
    sequences: dict[str, list] = {}
    for key in motions.files:
        sequences.setdefault(key.split("/")[0], []).append(motions[key])
    flagged = {e.tasks[0] for e in episodes}
    screened, _ = screen_episodes(episodes, flagged, sequences, lambda env_id: gym.make(env_id, cameras=()).unwrapped)
    assert [e.seed for e in screened] == [pins["seeds"][e.episode_id] for e in episodes]


def test_a_hidden_split_is_screened_as_the_release(env):
    """A hidden split re-draws seeds: ``rescreened`` moves each valid start of a flagged task to one
    no blind control solves and the expert does, as the release did; the rest stay as drawn."""
    from envs.blind_screen import blind_solves, expert_solves
    from gr_bench.suites import Suite

    flagged = set(json.loads(SCREENED_SEEDS.read_text())["flags"]["tasks"])
    motions = np.load(BLIND_MOTIONS)
    sequences: dict[str, list] = {}
    for key in motions.files:
        sequences.setdefault(key.split("/")[0], []).append(motions[key])
    ood = get_suite("ood-instruction").select(track="tabletop")
    picked = [
        next(e for e in ood.episodes if e.tasks[0] == "push_red_block_left" and e.instruction_category == "eval"),
        next(e for e in ood.episodes if e.tasks[0] == "push_red_block_left" and e.instruction_category == "invalid"),
        next(e for e in ood.episodes if e.tasks[0] not in flagged and e.instruction_category == "eval"),
    ]
    # a secret under which the flagged start is blind-solvable as drawn (the screen must move it)
    for k in range(40):
        hidden = Suite(ood.name, ood.version, "a sample", tuple(picked), ood.track).with_secret(f"s{k}")
        if blind_solves(env, hidden.episodes[0], sequences):
            break
    else:
        pytest.fail("no secret of 40 draws a blind-solvable start")
    screened = hidden.rescreened()
    moved, invalid, other = screened.episodes
    assert moved.seed != hidden.episodes[0].seed
    assert not blind_solves(env, moved, sequences) and expert_solves(env, moved)
    assert (invalid, other) == hidden.episodes[1:]  # invalid requests and unflagged tasks are not screened
    assert get_suite("smoke").rescreened() == get_suite("smoke")  # a suite nobody screened is left as it is


def _record(task, success, headline=True, axis="none"):
    record = {
        "episode_id": f"{task}/{success}/{headline}",
        "env_id": "GRBench/Tabletop-v0",
        "scene": "A",
        "tasks": [task],
        "instructions": ["x"],
        "seed": 0,
        "instruction_category": "train",
        "axis": axis,
        "variations": {},
        "success": success,
        "completed": int(success),
        "steps": 1,
        "status": "ongoing",
        "failure": None,
        "progress": float(success),
    }
    if not headline:
        record["headline"] = False
    return record


def test_episodes_beside_the_headline_count_only_in_their_task_row():
    records = [_record("open_drawer", True), _record("open_drawer", False), _record("close_drawer", True, False)]
    agg = aggregate(records)
    assert agg["overall"]["n"] == 2 and agg["overall"]["successes"] == 1
    assert agg["per_axis"]["none"]["n"] == 2 and agg["mean_progress"] == 0.5
    assert agg["per_task"]["close_drawer"]["successes"] == 1
    assert agg["beside_headline"]["overall"]["n"] == 1
    assert list(agg["beside_headline"]["per_task"]) == ["close_drawer"]
    assert "beside_headline" not in aggregate(records[:2])
