"""gr-bench collect: scripted-expert demonstrations as a LeRobot v3 dataset; resuming; bad input."""

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from gr_bench import collect as collect_module
from gr_bench.collect import (
    COLLECT_SEED_OFFSET,
    AttemptGroup,
    CollectionSpec,
    collect,
    episode_setup,
    make_spec,
    stage_name,
)

TASKS = ["open_drawer", "move_slider_left"]
ARGS = dict(tasks=TASKS, size=64, gripper_size=48, progress=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("collected") / "data"
    collect("seen", 1, out, **ARGS)
    return out


def _tables(root):
    return {
        name: pq.read_table(root / name)
        for name in ("data/chunk-000/file-000.parquet", "meta/episodes/chunk-000/file-000.parquet")
    }


def test_layout(dataset):
    from agents.data.lerobot_format import read_episodes, read_info, video_path
    from agents.data.video_io import count_frames, decode_video

    info = read_info(dataset)
    assert info["codebase_version"] == "v3.0" and info["fps"] == 30
    rows = read_episodes(dataset)
    assert info["total_episodes"] == len(rows) == len(TASKS)
    assert info["total_frames"] == sum(r["length"] for r in rows)
    assert [r["task_name"] for r in rows] == TASKS
    assert info["features"]["observation.state"]["shape"] == [15]
    assert info["features"]["observation.environment_state"]["shape"] == [24]
    assert info["features"]["action"]["names"][-1] == "gripper"
    assert info["features"]["observation.images.rgb_static"]["shape"] == [64, 64, 3]
    assert not (dataset / ".staging").exists()
    table = pq.read_table(dataset / "data/chunk-000/file-000.parquet")
    assert table.num_rows == info["total_frames"]
    actions = np.stack(table.column("action").to_pylist())
    assert np.all(np.abs(actions[:, :6]) <= 1)
    assert set(np.unique(actions[:, 6])) <= {-1.0, 1.0}
    assert table.schema.field("action").type.value_type.bit_width == 32
    for row in rows:
        assert row["seed"] >= COLLECT_SEED_OFFSET and row["scene"] in "ABC"
        for camera, size in (("rgb_static", 64), ("rgb_gripper", 48)):
            key = f"observation.images.{camera}"
            path = video_path(dataset, info, row, key)
            assert count_frames(path) == info["total_frames"]  # both episodes share one file
            first = round(row[f"videos/{key}/from_timestamp"] * info["fps"])
            [frames] = decode_video(path, ranges=[(first, first + row["length"])])
            assert frames.shape == (row["length"], 3, size, size)
    tasks = pq.read_table(dataset / "meta/tasks.parquet").to_pydict()
    assert sorted(tasks["task"]) == sorted(r["tasks"][0] for r in rows)
    collection = json.loads((dataset / "meta/collection.json").read_text())
    assert collection["episodes"] == 2 and collection["failed_attempts"] == []


def test_actions_replay_the_episode(dataset):
    """The recorded action is exactly what the environment was given: replaying them from the
    recorded seed and options reproduces the states and the success."""
    import gymnasium as gym

    import envs  # noqa: F401
    from agents.data.lerobot_format import read_episodes

    row = read_episodes(dataset)[0]
    table = pq.read_table(dataset / "data/chunk-000/file-000.parquet").to_pydict()
    steps = [i for i, e in enumerate(table["episode_index"]) if e == 0]
    env = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped
    options = {
        "task": row["task_name"],
        "scene": row["scene"],
        "instruction": row["tasks"][0],
        "variations": json.loads(row["variations"]),
    }
    obs, _ = env.reset(seed=row["seed"], options=options)
    for i in steps:
        np.testing.assert_allclose(obs["robot_obs"], table["observation.state"][i], atol=1e-6)
        obs, _, terminated, _, info = env.step(np.asarray(table["action"][i], dtype=np.float32))
    assert terminated and info["success"]


def test_perturbed_rollouts_record_the_experts_action(tmp_path):
    """With --action-noise the environment executes the expert's action plus the noise and the
    dataset records the expert's own: replaying the recorded actions with the same noise (drawn
    from the episode's seed) reproduces the episode. The starts differ from the clean collection's,
    and the recorded actions are not what was executed."""
    import gymnasium as gym

    import envs  # noqa: F401
    from agents.data.lerobot_format import read_episodes
    from envs.episodes import keyed_rng
    from gr_bench.collect.noise import ActionNoise

    out = tmp_path / "dart"
    collect("seen", 1, out, **{**ARGS, "tasks": ["push_red_block_left"]}, action_noise=0.5)
    row = read_episodes(out)[0]
    clean = episode_setup(make_spec("seen", 1, tasks=["push_red_block_left"]), "push_red_block_left", row["scene"], 0)
    assert row["seed"] != clean["seed"]
    collection = json.loads((out / "meta/collection.json").read_text())
    assert collection["arguments"]["action_noise"] == 0.5
    table = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()
    actions = np.asarray(table["action"], dtype=np.float32)
    assert set(np.unique(actions[:, 6])) <= {-1.0, 1.0}  # the gripper is never perturbed
    env = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped
    options = {"task": row["task_name"], "scene": row["scene"], "instruction": row["tasks"][0]}
    obs, _ = env.reset(seed=row["seed"], options={**options, "variations": json.loads(row["variations"])})
    layout = (("tcp_xyz", 3), ("tcp_euler_xyz", 3), ("gripper", 1))
    noise = ActionNoise(0.5, layout, keyed_rng("noise", row["seed"]))
    low, high = env.action_space.low, env.action_space.high
    for i, action in enumerate(actions):
        np.testing.assert_allclose(obs["robot_obs"], table["observation.state"][i], atol=1e-6)
        obs, _, terminated, _, info = env.step(noise.perturb(action, low, high))
    assert terminated and info["success"]
    # the same actions executed without the noise lead elsewhere
    obs, _ = env.reset(seed=row["seed"], options={**options, "variations": json.loads(row["variations"])})
    for action in actions[:20]:
        obs, *_ = env.step(action)
    assert np.abs(obs["robot_obs"][:3] - np.asarray(table["observation.state"][20][:3])).max() > 1e-3


def test_action_noise_is_correlated_bounded_and_spares_the_gripper():
    from gr_bench.collect.noise import ActionNoise

    layout = (("tcp_xyz", 3), ("tcp_euler_xyz", 3), ("gripper", 1))
    noise = ActionNoise(0.3, layout, np.random.default_rng(0))
    action, low, high = np.array([0.0] * 6 + [-1.0], dtype=np.float32), -np.ones(7), np.ones(7)
    draws = np.stack([noise.perturb(action, low, high) for _ in range(20000)])
    assert draws.dtype == np.float32 and np.all(np.abs(draws) <= 1)
    assert np.all(draws[:, 6] == -1.0)
    assert np.allclose(draws[:, :6].std(0), 0.3, atol=0.02)  # stationary std: the scale
    lag1 = np.mean([np.corrcoef(draws[:-1, k], draws[1:, k])[0, 1] for k in range(6)])
    assert 0.75 < lag1 < 0.85  # a drift, not white noise
    again = ActionNoise(0.3, layout, np.random.default_rng(0))
    np.testing.assert_array_equal(again.perturb(action, low, high), draws[0])


def test_windows_and_corpus_on_the_collected_data(dataset):
    pytest.importorskip("torch")
    from agents.data import EpisodeWindows, VideoCorpus
    from envs.tabletop.language import instructions

    windows = EpisodeWindows(dataset, history=4, future=3, image_size={"rgb_static": (32, 32)})
    s = windows[0]
    assert s["rgb_static"].shape == (4, 3, 32, 32) and s["rgb_gripper"].shape == (4, 3, 48, 48)
    assert s["state"].shape == (4, 15) and s["actions"].shape == (4, 1, 7)
    windows = EpisodeWindows(dataset, tasks=["move_slider_left"])
    phrasings = set(instructions("move_slider_left", "train"))
    assert {windows[i]["instruction"] for i in range(len(windows))} <= phrasings
    corpus = VideoCorpus([dataset], history=2, future=1, image_size={"rgb_static": (16, 16), "rgb_gripper": (8, 8)})
    assert len(corpus) == len(EpisodeWindows(dataset, cameras=()))
    assert corpus[0]["caption"] and bool(corpus[0]["has_rgb_gripper"])


def test_seeds_are_disjoint_from_every_suite():
    from gr_bench.suites import get_suite, suite_names

    suite_seeds = {e.seed for name in suite_names() for e in get_suite(name).episodes}
    suite_seeds |= {e.seed for e in get_suite("seen").with_secret("s3cret").episodes}
    assert max(suite_seeds) < COLLECT_SEED_OFFSET
    spec = make_spec("seen", 1)
    seeds = {episode_setup(spec, t, s, i)["seed"] for t in spec.tasks[:5] for s in spec.scenes for i in range(20)}
    assert len(seeds) == 5 * 3 * 20 and not seeds & suite_seeds
    setup = episode_setup(spec, "open_drawer", "A", 0)
    assert setup == episode_setup(spec, "open_drawer", "A", 0)  # deterministic
    assert "layout" not in setup["variations"]


def test_quotas_share_the_scenes():
    spec = CollectionSpec("seen", ("a", "b", "c", "d"), ("A", "B", "C"), 2, 64, 48, 0.5)
    quotas = spec.quotas()
    assert sum(quotas.values()) == 8
    per_scene = [sum(n for (_, s), n in quotas.items() if s == scene) for scene in "ABC"]
    assert max(per_scene) - min(per_scene) <= 1
    assert all(sum(n for (t, _), n in quotas.items() if t == task) == 2 for task in "abcd")


def test_kept_episodes_do_not_depend_on_finishing_order():
    outcome = {i: i % 3 != 1 for i in range(40)}  # every third attempt fails
    wanted = [i for i in range(40) if outcome[i]][:7]
    for seed in range(5):
        rng = np.random.default_rng(seed)
        group, running = AttemptGroup(7), []
        while True:
            running += group.next_indices()
            if not running:
                break
            i = running.pop(int(rng.integers(len(running))))
            group.record(i, {"success": outcome[i]})
        assert sorted(group.ok) == wanted


def test_failed_rollouts_are_replaced_and_recorded(tmp_path, monkeypatch):
    spec = make_spec("seen", 1, tasks=["open_drawer"], size=64, gripper_size=48)
    bad_seed = episode_setup(spec, "open_drawer", "A", 0)["seed"]
    original = collect_module.Recorder._rollout

    def flaky(self, task, scene, setup, max_steps):
        if setup["seed"] == bad_seed:
            raise RuntimeError("simulated blow-up")
        return original(self, task, scene, setup, max_steps)

    monkeypatch.setattr(collect_module.Recorder, "_rollout", flaky)
    summary = collect("seen", 1, tmp_path / "d", tasks=["open_drawer"], size=64, gripper_size=48, progress=False)
    [failure] = summary["failed_attempts"]
    assert failure["index"] == 0 and "simulated blow-up" in failure["reason"]
    row = pq.read_table(tmp_path / "d/meta/episodes/chunk-000/file-000.parquet").to_pylist()[0]
    assert row["collect_index"] == 1 and row["seed"] != bad_seed


def test_resume_after_an_interruption(dataset, tmp_path, monkeypatch):
    out = tmp_path / "d"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(collect_module, "assemble", killed)
    with pytest.raises(KeyboardInterrupt):
        collect("seen", 1, out, **ARGS)
    monkeypatch.undo()
    assert len(list((out / ".staging").glob("*.npz"))) == 2 and not (out / "meta").exists()
    # one episode was killed before its npz was written: its videos are there, the marker is not
    (out / ".staging" / f"{stage_name(TASKS[1], 'B', 0)}.npz").unlink()
    runs = []
    original = collect_module.Recorder.run
    monkeypatch.setattr(collect_module.Recorder, "run", lambda self, *key: runs.append(key) or original(self, *key))
    collect("seen", 1, out, **ARGS)
    assert runs == [(TASKS[1], "B", 0)]  # only the missing episode was rolled out again
    assert not (out / ".staging").exists()
    mine, reference = _tables(out), _tables(dataset)
    for name in mine:
        assert mine[name].equals(reference[name]), name
    # a finished collection run again is only reported
    collect("seen", 1, out, **ARGS)
    assert len(runs) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(suite="sen"), "unknown suite 'sen'"),
        (dict(tasks=["open_drawr"]), "open_drawer"),
        (dict(suite="smoke", tasks=["close_drawer"]), "not in suite 'smoke'"),
        (dict(episodes_per_task=0), "positive integer"),
        (dict(episodes_per_task=-2), "positive integer"),
        (dict(scenes=["E"]), "unknown scene 'E'"),
        (dict(size=63), "even"),
        (dict(workers=0), "workers"),
        (dict(variation_prob=1.5), "variation-prob"),
        (dict(action_noise=-0.1), "action-noise"),
        (dict(action_noise="0.3"), "action-noise"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    args = {"suite": "seen", "episodes_per_task": 1, "out": tmp_path / "d", **ARGS, **kwargs}
    with pytest.raises(ValueError, match=message):
        collect(**args)
    assert not (tmp_path / "d").exists()


def test_out_holding_something_else_is_refused(dataset, tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        collect("seen", 1, out, **ARGS)
    assert (out / "notes.txt").read_text() == "mine" and not (out / ".staging").exists()
    with pytest.raises(ValueError, match="different dataset.*episodes_per_task=1 there, 2 now"):
        collect("seen", 2, dataset, **ARGS)
    other = tmp_path / "other"
    shutil.copytree(dataset, other)
    (other / "meta/collection.json").unlink()
    with pytest.raises(ValueError, match="did not write"):
        collect("seen", 1, other, **ARGS)
    interrupted = tmp_path / "interrupted"
    (interrupted / ".staging").mkdir(parents=True)
    (interrupted / ".staging/run.json").write_text(
        json.dumps(make_spec("seen", 3, tasks=TASKS, size=64, gripper_size=48).to_json())
    )
    with pytest.raises(ValueError, match="interrupted collection.*episodes_per_task=3 there, 1 now"):
        collect("seen", 1, interrupted, **ARGS)


def test_cli(tmp_path, capsys):
    from gr_bench.cli import main

    assert main(["collect", "--suite", "seen", "--episodes-per-task", "0", "--out", str(tmp_path / "d")]) == 2
    assert "positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["collect", "--help"])
    assert "gr-bench collect --suite seen" in capsys.readouterr().out


def test_two_workers_give_the_same_dataset(dataset, tmp_path):
    out = tmp_path / "d"
    collect("seen", 1, out, workers=2, **ARGS)
    mine, reference = _tables(out), _tables(dataset)
    for name in mine:
        assert mine[name].equals(reference[name]), name


def test_tidy_collection(tmp_path):
    """The tidy room's episodes of a suite: ByteMini's three cameras, 39-D state, 84-D scene state,
    19-D joint actions, its training scenes; the recorded actions replay the episode."""
    import gymnasium as gym

    import envs  # noqa: F401
    from agents.data.lerobot_format import read_episodes, read_info

    with pytest.raises(ValueError, match="not in suite"):
        make_spec("seen", 1, env="GRBench/Tidy-v0", tasks=["open_drawer"])
    with pytest.raises(ValueError, match="environment"):
        make_spec("seen", 1, env="GRBench/Laundry-v0")
    with pytest.raises(ValueError, match="has no episode in GRBench/Cloth-v0"):  # registered, not in smoke
        make_spec("smoke", 1, env="GRBench/Cloth-v0")
    assert make_spec("seen", 1, env="GRBench/Tidy-v0").scenes == ("A", "B")
    out = tmp_path / "tidy"
    collect("seen", 1, out, env="GRBench/Tidy-v0", tasks=["put_spoon_in_tub"], size=48, gripper_size=32, progress=False)
    info = read_info(out)
    features = info["features"]
    assert info["robot_type"] == "bytemini" and info["fps"] == 20
    assert features["observation.state"]["shape"] == [39] and features["observation.environment_state"]["shape"] == [84]
    assert features["action"]["shape"] == [19] and features["action"]["names"][-1] == "right_gripper"
    for camera, size in (("rgb_head", 48), ("rgb_left_wrist", 32), ("rgb_right_wrist", 32)):
        assert features[f"observation.images.{camera}"]["shape"] == [size, size, 3]
    [row] = read_episodes(out)
    assert row["task_name"] == "put_spoon_in_tub" and row["scene"] == "A" and row["seed"] >= COLLECT_SEED_OFFSET
    actions = np.stack(pq.read_table(out / "data/chunk-000/file-000.parquet").column("action").to_pylist())
    env = gym.make("GRBench/Tidy-v0", cameras=()).unwrapped
    options = {"task": "put_spoon_in_tub", "scene": "A", "instruction": row["tasks"][0]}
    env.reset(seed=row["seed"], options={**options, "variations": json.loads(row["variations"])})
    for action in actions:
        *_, terminated, _, step_info = env.step(action)
    assert terminated and step_info["success"] and len(actions) == row["length"]
