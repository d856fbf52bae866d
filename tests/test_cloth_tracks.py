"""The cloth table's suite tracks (suites v4, issue 17 item 6): every episode starts in the
environment as declared, the unseen track pins every live axis, and the scripted expert finishes
a chain and refuses an impossible request through the evaluator."""

import json

import numpy as np
import pytest

from envs.cloth import tracks
from envs.cloth.env import ClothEnv
from envs.cloth.variations import AXES
from gr_bench.suites import get_suite


@pytest.fixture(scope="module")
def env():
    environment = ClothEnv(cameras=())
    yield environment
    environment.close()


def test_v4_suites_have_the_cloth_track():
    for name, count in (("seen", 30), ("unseen", 38), ("ood-instruction", 24), ("long-horizon", 20)):
        part = get_suite(name, 4).select(track="cloth")
        assert len(part.episodes) == count
        assert all(e.env_id == "GRBench/Cloth-v0" and e.rules == 3 and e.max_steps is None for e in part.episodes)
        assert "cloth" not in get_suite(name, 3).tracks


def test_the_unseen_track_pins_every_live_axis_and_holds_out_the_tshirt():
    assert [axis for axis, _ in tracks.UNSEEN_V4] == list(AXES)
    for axis, pinned in tracks.UNSEEN_V4:
        assert pinned == AXES[axis].unseen, f"{axis}: the pinned range is not the live one at release"
    for suite in ("seen", "ood-instruction", "long-horizon"):
        assert {e.scene for e in get_suite(suite, 4).select(track="cloth").episodes} <= set(tracks.TRAINING_SCENES)
    unseen = get_suite("unseen", 4).select(track="cloth").episodes
    assert {e.scene for e in unseen if e.axis == "garment_shape"} == {"tshirt"}
    assert all(e.scene == "square" and set(e.variations) == {e.axis} for e in unseen if e.axis != "garment_shape")


@pytest.mark.parametrize("suite", ["seen", "unseen", "ood-instruction", "long-horizon"])
def test_every_episode_starts_as_declared(env, suite):
    for e in get_suite(suite, 4).select(track="cloth").episodes:
        _, info = env.reset(
            seed=e.seed,
            options={
                "task": e.tasks[0],
                "scene": e.scene,
                "instruction": e.instructions[0],
                "variations": e.variations,
            },
        )
        assert info["task"] == e.tasks[0] and env.garment.shape == e.scene, e.episode_id
        for name, value in e.variations.items():
            assert info["variations"][name] == value, e.episode_id


def test_the_shape_axis_picks_the_scene(env):
    env.reset(seed=0, options={"task": "flatten", "variations": {"garment_shape": "tshirt"}})
    assert env.garment.shape == "tshirt"
    with pytest.raises(ValueError, match="give one of them"):
        env.reset(seed=0, options={"scene": "square", "variations": {"garment_shape": "tshirt"}})
    with pytest.raises(ValueError, match="trousers"):
        env.reset(seed=0, options={"variations": {"garment_shape": "trousers"}})


def test_the_expert_finishes_a_chain_and_refuses_an_impossible_request(tmp_path):
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import Suite

    chain = next(e for e in tracks.long_horizon() if e.tasks == ("flatten", "fold_diagonally"))
    invalid = next(e for e in tracks.ood_instruction() if e.instruction_category == "invalid")
    suite = Suite("long-horizon", 4, "two cloth episodes", (chain, invalid), track="cloth")
    evaluate(suite, "oracle", tmp_path / "run", progress=False)
    records = {r["episode_id"]: r for r in map(json.loads, (tmp_path / "run" / "episodes.jsonl").open())}
    assert records[chain.episode_id]["success"] and records[chain.episode_id]["completed"] == 2
    assert records[invalid.episode_id]["success"] and records[invalid.episode_id]["status"] == "invalid"
    assert np.isfinite(records[chain.episode_id]["steps"])
