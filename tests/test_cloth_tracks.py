"""The cloth table's suite tracks (suites v4; hang joined in v5, issue 17 item 6): every episode starts in the
environment as declared, the unseen track pins every live axis, and the scripted expert finishes
a chain and refuses an impossible request through the evaluator."""

import json

import numpy as np
import pytest

from envs.cloth import tracks
from envs.cloth.env import ClothEnv
from envs.cloth.family import CLOTH
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
        assert "hang" not in {t for e in part.episodes for t in e.tasks}
        assert "cloth" not in get_suite(name, 3).tracks


def test_v5_adds_hang_and_keeps_every_v4_episode_as_it_was():
    # seen: hang on both training garments; unseen: hang under each axis that changes the square;
    # ood-instruction: hang under each phrasing category; long-horizon: every chain ends hanging
    added = {"seen": 12, "unseen": 10, "ood-instruction": 6, "long-horizon": 0}
    for name, extra in added.items():
        v4 = get_suite(name, 4).select(track="cloth").episodes
        v5 = get_suite(name, 5).select(track="cloth").episodes
        assert len(v5) == len(v4) + extra
        if name == "long-horizon":
            assert all(e.tasks[-1] == "hang" and e.tasks[:2] == f.tasks for e, f in zip(v5, v4, strict=True))
            continue
        by_id = {e.episode_id: e for e in v5}
        assert all(by_id.get(e.episode_id) == e for e in v4), f"{name}: a v4 episode changed in v5"
        ids = {e.episode_id for e in v4}
        assert all(e.tasks == ("hang",) for e in v5 if e.episode_id not in ids)
    unseen = get_suite("unseen", 5).select(track="cloth").episodes
    hang_axes = {e.axis for e in unseen if e.tasks == ("hang",)}
    assert hang_axes == {"garment_size", "stiffness", "colour", "lighting", "table"}


def test_v6_adds_bytemini_s_cloth_track_as_the_panda_table_s_with_its_own_episodes():
    """Suites v6: ByteMini's cloth table has the Panda table's tracks (tasks, garments, axes and
    values drawn the same way, counts, rules), in its own env and from its own keys; every v5
    episode is in v6 unchanged."""
    for name in ("seen", "unseen", "ood-instruction", "long-horizon"):
        v5, v6 = get_suite(name, 5), get_suite(name, 6)
        assert v6.tracks == (*v5.tracks, "cloth_bytemini")
        for track in v5.tracks:
            assert v6.select(track=track).episodes == v5.select(track=track).episodes
        panda, bytemini = (v6.select(track=t).episodes for t in ("cloth", "cloth_bytemini"))
        assert len(bytemini) == len(panda)
        assert all(e.env_id == "GRBench/ClothByteMini-v0" and e.rules == 3 for e in bytemini)

        # the same episodes in the same order, up to what each draws from its key (ood-instruction
        # an episode's garment, long-horizon a chain's fold)
        def shape(e, name=name):
            if name in ("seen", "unseen"):
                return e.tasks, e.scene, e.axis, e.instruction_category, tuple(e.variations)
            return e.tasks[0], e.tasks[-1], e.axis.replace("cloth_bytemini", "cloth"), e.instruction_category

        assert [shape(e) for e in bytemini] == [shape(e) for e in panda]
        assert not {e.seed for e in bytemini} & {e.seed for e in panda}
        assert all(e.episode_id.split("/")[1] == "cloth_bytemini" for e in bytemini)
    # chains are aggregated per axis: each table's chains have their own
    chains = get_suite("long-horizon", 6).episodes
    assert {e.axis for e in chains if e.env_id == "GRBench/ClothByteMini-v0"} == {"long_horizon_cloth_bytemini"}
    assert {e.axis for e in chains if e.env_id == "GRBench/Cloth-v0"} == {"long_horizon_cloth"}
    assert {t for e in get_suite("seen", 6).select(track="cloth_bytemini").episodes for t in e.tasks} == set(
        tracks.VALID_TASKS
    )


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
    for e in get_suite(suite, 5).select(track="cloth").episodes:  # v4's episodes are all in v5
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
        # the validator holds a record to the family's largest budget: a larger garment's is longer
        assert env.max_steps <= CLOTH.max_task_steps(), e.episode_id
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

    chain = next(e for e in tracks.long_horizon() if e.tasks == ("flatten", "fold_diagonally", "hang"))
    invalid = next(e for e in tracks.ood_instruction() if e.instruction_category == "invalid")
    suite = Suite("long-horizon", 5, "two cloth episodes", (chain, invalid), track="cloth")
    evaluate(suite, "oracle", tmp_path / "run", progress=False)
    records = {r["episode_id"]: r for r in map(json.loads, (tmp_path / "run" / "episodes.jsonl").open())}
    assert records[chain.episode_id]["success"] and records[chain.episode_id]["completed"] == 3
    assert records[invalid.episode_id]["success"] and records[invalid.episode_id]["status"] == "invalid"
    # the chain's progress: the tasks done count whole, the last by its graded progress
    done = records[chain.episode_id]
    assert 2 / 3 < done["progress"] <= 1.0
    # a validator cannot recompute an env-graded progress from the outcome, and does not try
    from gr_bench.leaderboard import _check_record

    for episode in (chain, invalid):
        _check_record(0, records[episode.episode_id], episode, 3)


def test_collect_writes_a_cloth_dataset_whose_particles_stay_privileged(tmp_path):
    """`gr-bench collect --env cloth` rolls the expert out on the cloth track's training garments;
    the particles are written as LeRobot's privileged `observation.environment_state`, which no
    agent's data loader reads (learned agents see the cameras and the 15-D robot state)."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from gr_bench.collect import collect

    out = tmp_path / "cloth"
    collect("seen", 1, out, env="cloth", tasks=["fold_diagonally"], size=48, gripper_size=32, progress=False)
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["robot_type"] == "franka_panda" and info["total_episodes"] == 1
    assert info["features"]["observation.state"]["shape"] == [15]
    assert info["features"]["observation.environment_state"]["shape"] == [1202]
    assert info["features"]["observation.images.rgb_static"]["shape"] == [48, 48, 3]
    frames = pq.read_table(out / "data" / "chunk-000" / "file-000.parquet")
    particles = np.stack(frames.column("observation.environment_state").to_numpy(zero_copy_only=False))
    assert particles[0, 1] == 400 and np.ptp(particles[:, 2:1202:3]) > 0.05  # the square's vertices move
    agents = Path(__file__).resolve().parents[1] / "agents"
    readers = [p.relative_to(agents).as_posix() for p in agents.rglob("*.py") if "environment_state" in p.read_text()]
    assert readers == ["data/privileged.py"], f"an agent reads the privileged particle state: {readers}"
    # ... whose one name for it only GR-1's declared scene-state control imports (its checkpoints say so)
    files = agents.rglob("*.py")
    importers = sorted(p.relative_to(agents).as_posix() for p in files if "SCENE_STATE_KEY" in p.read_text())
    assert importers == ["data/privileged.py", "gr1/agent.py", "gr1/training.py"]
    assert 'checkpoint_config["privileged_inputs"] = ["scene_obs"]' in (agents / "gr1" / "training.py").read_text()
