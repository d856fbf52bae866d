"""agents.data: the LeRobot v3 layout, training windows, normalisation and the video corpus, on small
synthetic datasets whose frames and vectors encode where they come from."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

torch = pytest.importorskip("torch")

from agents.data import EpisodeWindows, Normalizer, VideoCorpus, read_info  # noqa: E402
from agents.data.lerobot_format import (  # noqa: E402
    IMAGE_PREFIX,
    EpisodeData,
    aggregate_stats,
    array_stats,
    image_stats,
    read_episodes,
    video_path,
    write_dataset,
)
from agents.data.video_io import VideoError, count_frames, decode_video, encode_video  # noqa: E402

FPS = 30
LENGTHS = (5, 12, 3)  # an episode shorter than the history, one longer, one shorter than future + 1
STATIC, GRIPPER = (16, 24), (8, 8)  # (height, width)
TASK_NAMES = ("open_drawer", "close_drawer", "open_drawer")
FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [15], "names": [f"s{i}" for i in range(15)]},
    "action": {"dtype": "float32", "shape": [7], "names": ["x", "y", "z", "rx", "ry", "rz", "gripper"]},
}


def brightness(e: int, t: int) -> int:
    return 20 + 15 * t + 3 * e  # distinct per (episode, step), flat frames survive H.264 within a few levels


def state_of(e: int, t: int) -> np.ndarray:
    return (100 * e + t + np.arange(15) / 100).astype(np.float32)


def action_of(e: int, t: int) -> np.ndarray:
    arm = 0.1 * (e + 1) * np.sin(t + np.arange(6))
    return np.r_[arm, 1.0 if t % 2 == 0 else -1.0].astype(np.float32)


def build(root, tmp, data_file_mb=100.0, video_file_mb=200.0):
    episodes = []
    for e, n in enumerate(LENGTHS):
        videos, stats = {}, {}
        for camera, (h, w) in (("rgb_static", STATIC), ("rgb_gripper", GRIPPER)):
            frames = np.zeros((n, h, w, 3), np.uint8)
            for t in range(n):
                frames[t] = brightness(e, t)
            path = encode_video(tmp / f"{camera}-{e}.mp4", frames, FPS)
            videos[IMAGE_PREFIX + camera] = path
            stats[IMAGE_PREFIX + camera] = image_stats(frames)
        episodes.append(
            EpisodeData(
                task=f"instruction {TASK_NAMES[e]}",
                columns={
                    "observation.state": np.stack([state_of(e, t) for t in range(n)]),
                    "action": np.stack([action_of(e, t) for t in range(n)]),
                },
                videos=videos,
                image_stats=stats,
                extra={"task_name": TASK_NAMES[e], "variations": {"lighting": {"intensity": 1.0}}},
            )
        )
    sizes = {IMAGE_PREFIX + "rgb_static": STATIC, IMAGE_PREFIX + "rgb_gripper": GRIPPER}
    write_dataset(
        root, episodes, FEATURES, FPS, video_sizes=sizes, data_file_mb=data_file_mb, video_file_mb=video_file_mb
    )
    return root


@pytest.fixture(scope="module", params=["shared_files", "file_per_episode"])
def dataset(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raw")
    limit = {"shared_files": (100.0, 200.0), "file_per_episode": (1e-9, 1e-9)}[request.param]
    return build(tmp_path_factory.mktemp("dataset"), tmp, *limit)


# --- the layout --------------------------------------------------------------------------------
def test_layout(dataset):
    info = read_info(dataset)
    assert info["codebase_version"] == "v3.0"
    assert info["total_episodes"] == len(LENGTHS) and info["total_frames"] == sum(LENGTHS) and info["total_tasks"] == 2
    rows = read_episodes(dataset)
    assert [r["length"] for r in rows] == list(LENGTHS)
    assert [r["task_name"] for r in rows] == list(TASK_NAMES)
    assert json.loads(rows[0]["variations"]) == {"lighting": {"intensity": 1.0}}
    data_files = sorted(dataset.glob("data/chunk-*/file-*.parquet"))
    assert sum(pq.read_metadata(p).num_rows for p in data_files) == sum(LENGTHS)
    table = pq.read_table(data_files[0])
    assert {"observation.state", "action", "timestamp", "frame_index", "episode_index", "index", "task_index"} <= set(
        table.column_names
    )
    for key in ("rgb_static", "rgb_gripper"):
        key = IMAGE_PREFIX + key
        by_file: dict = {}
        for r in rows:
            by_file.setdefault(video_path(dataset, info, r, key), []).append(r)
            assert r[f"videos/{key}/to_timestamp"] - r[f"videos/{key}/from_timestamp"] == pytest.approx(
                r["length"] / FPS
            )
        for path, members in by_file.items():
            assert count_frames(path) == sum(r["length"] for r in members)
    stats = json.loads((dataset / "meta/stats.json").read_text())
    assert stats["action"]["count"] == [sum(LENGTHS)]
    all_states = np.concatenate([[state_of(e, t) for t in range(n)] for e, n in enumerate(LENGTHS)])
    np.testing.assert_allclose(stats["observation.state"]["mean"], all_states.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["observation.state"]["std"], all_states.std(0), rtol=1e-5)
    assert np.asarray(stats[IMAGE_PREFIX + "rgb_static"]["mean"]).shape == (3, 1, 1)


def test_file_limits_split_the_files(tmp_path):
    root = build(tmp_path / "d", tmp_path, data_file_mb=1e-9, video_file_mb=1e-9)
    assert len(list(root.glob("data/chunk-000/file-*.parquet"))) == len(LENGTHS)
    assert len(list(root.glob("videos/observation.images.rgb_static/chunk-000/file-*.mp4"))) == len(LENGTHS)
    rows = read_episodes(root)
    assert [r["videos/observation.images.rgb_static/from_timestamp"] for r in rows] == [0.0] * len(LENGTHS)


def test_aggregate_stats_equals_stats_of_the_union():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 4)) * (i + 1) for i, n in enumerate((3, 10, 7))]
    pooled = aggregate_stats([array_stats(p) for p in parts])
    direct = array_stats(np.concatenate(parts))
    for name in ("min", "max", "mean", "std", "count"):
        np.testing.assert_allclose(pooled[name], direct[name])


@pytest.mark.parametrize(
    "shape, low, high",
    [((50, 30, 40, 3), 0, 256), ((7, 9, 9, 3), 100, 104), ((3, 4, 4, 3), 7, 8), ((130, 5, 6, 3), 0, 256)],
)
def test_image_stats_from_histograms_match_sorting_every_pixel(shape, low, high):
    """image_stats counts each channel's 256 levels instead of sorting pixels: the same min, max,
    mean, std and (linear-interpolated) quantiles as array_stats of the scaled pixels, with at most
    100 evenly spaced frames, a constant image and a frame count past that cap included."""
    frames = np.random.default_rng(sum(shape)).integers(low, high, shape, dtype=np.uint8)
    stats = image_stats(frames)
    picked = frames[np.linspace(0, len(frames) - 1, min(len(frames), 100)).round().astype(int)]
    direct = array_stats(picked.reshape(-1, 3).astype(np.float64) / 255.0)
    assert set(stats) == set(direct) and stats["count"].tolist() == [len(frames)]
    for name in set(direct) - {"count"}:
        assert stats[name].shape == (3, 1, 1)
        np.testing.assert_allclose(stats[name].ravel(), direct[name], rtol=0, atol=1e-12, err_msg=name)


def test_read_info_errors(tmp_path):
    with pytest.raises(ValueError, match="not a LeRobot dataset"):
        read_info(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta/info.json").write_text(json.dumps({"codebase_version": "v2.1"}))
    with pytest.raises(ValueError, match="v2.1"):
        read_info(tmp_path)


# --- windows -----------------------------------------------------------------------------------
def frame_value(frames: torch.Tensor) -> np.ndarray:
    """Mean brightness of each frame in (T, 3, H, W)."""
    return frames.float().mean(dim=(1, 2, 3)).numpy()


def test_window_at_the_episode_start(dataset):
    ds = EpisodeWindows(dataset, history=4, future=2, chunk=3)
    assert len(ds) == sum(LENGTHS)
    s = ds[0]  # episode 0, step 0
    assert s["history_mask"].tolist() == [False, False, False, True]
    assert s["future_mask"].tolist() == [False, False, False, True]
    assert s["action_mask"].tolist() == [[False] * 3] * 3 + [[True] * 3]
    assert s["rgb_static"].shape == (4, 3, *STATIC) and s["rgb_gripper"].shape == (4, 3, *GRIPPER)
    assert s["rgb_static"].dtype == torch.uint8
    assert (s["rgb_static"][:3] == 0).all() and (s["future_rgb_static"][:3] == 0).all()
    assert (s["state"][:3] == 0).all() and (s["actions"][:3] == 0).all()
    assert frame_value(s["rgb_static"])[3] == pytest.approx(brightness(0, 0), abs=3)
    assert frame_value(s["future_rgb_static"])[3] == pytest.approx(brightness(0, 2), abs=3)
    state = ds.normalizer.unnormalize("observation.state", s["state"][3])
    np.testing.assert_allclose(state.numpy(), state_of(0, 0), rtol=1e-5, atol=1e-4)
    actions = ds.normalizer.unnormalize("action", s["actions"][3])
    np.testing.assert_allclose(actions.numpy(), [action_of(0, t) for t in range(3)], atol=1e-5)
    assert s["instruction"] == "instruction open_drawer"
    assert s["task_index"].dtype == torch.int64 and s["task_index"].shape == ()


def test_window_at_the_episode_end(dataset):
    ds = EpisodeWindows(dataset, history=4, future=2, chunk=3)
    n = LENGTHS[1]
    s = ds[LENGTHS[0] + n - 1]  # episode 1, its last step
    steps = list(range(n - 4, n))
    assert int(s["episode_index"]) == 1 and int(s["frame_index"]) == n - 1
    assert s["history_mask"].all()
    # step n-3 sees n-1, the last frame; later steps are clamped to it and masked out
    assert s["future_mask"].tolist() == [True, True, False, False]
    np.testing.assert_allclose(frame_value(s["rgb_static"]), [brightness(1, t) for t in steps], atol=3)
    np.testing.assert_allclose(
        frame_value(s["future_rgb_static"]), [brightness(1, min(t + 2, n - 1)) for t in steps], atol=3
    )
    np.testing.assert_allclose(
        frame_value(s["future_rgb_gripper"]), [brightness(1, min(t + 2, n - 1)) for t in steps], atol=3
    )
    assert s["action_mask"].tolist() == [
        [True, True, True],
        [True, True, True],
        [True, True, False],
        [True, False, False],
    ]
    assert (s["actions"][~s["action_mask"]] == 0).all()
    gripper = s["actions"][..., 6][s["action_mask"]]
    assert set(gripper.tolist()) <= {-1.0, 1.0}  # the gripper is not normalised


def test_short_episode_clamps_everything(dataset):
    ds = EpisodeWindows(dataset, history=4, future=5, chunk=1)
    s = ds[LENGTHS[0] + LENGTHS[1] + 1]  # episode 2 (3 steps), step 1
    assert s["history_mask"].tolist() == [False, False, True, True]
    assert s["future_mask"].tolist() == [False] * 4
    np.testing.assert_allclose(frame_value(s["future_rgb_static"])[2:], [brightness(2, 2)] * 2, atol=3)


def test_image_size_and_selection(dataset):
    ds = EpisodeWindows(dataset, history=2, image_size={"rgb_static": (12, 10)}, cameras=("rgb_static",))
    s = ds[0]
    assert s["rgb_static"].shape == (2, 3, 12, 10) and "rgb_gripper" not in s
    assert len(EpisodeWindows(dataset, episodes=[1])) == LENGTHS[1]
    only = EpisodeWindows(dataset, tasks=["open_drawer"])
    assert len(only) == LENGTHS[0] + LENGTHS[2]
    assert {only[i]["instruction"] for i in range(len(only))} == {"instruction open_drawer"}
    with pytest.raises(ValueError, match="no episodes of tasks"):
        EpisodeWindows(dataset, tasks=["stack_block"])
    with pytest.raises(ValueError, match="no episodes \\[7\\]"):
        EpisodeWindows(dataset, episodes=[7])
    with pytest.raises(ValueError, match="no camera"):
        EpisodeWindows(dataset, cameras=("rgb_head",))
    with pytest.raises(ValueError, match="history"):
        EpisodeWindows(dataset, history=0)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_dataloader_batches(dataset):
    ds = EpisodeWindows(dataset, history=3, future=1, chunk=2)
    batch = next(
        iter(torch.utils.data.DataLoader(ds, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0)))
    )
    assert batch["rgb_static"].shape == (5, 3, 3, *STATIC)
    assert batch["actions"].shape == (5, 3, 2, 7) and batch["actions"].dtype == torch.float32
    assert batch["action_mask"].shape == (5, 3, 2) and batch["history_mask"].dtype == torch.bool
    assert batch["task_index"].shape == (5,)
    assert isinstance(batch["instruction"], list) and len(batch["instruction"]) == 5


# --- normalisation -----------------------------------------------------------------------------
def test_normalizer_round_trip_numpy_and_torch():
    stats = {
        "observation.state": {"mean": np.arange(15.0), "std": np.r_[np.full(14, 2.0), 1e-6]},
        "action": {"mean": np.full(7, 0.3), "std": np.full(7, 0.5)},
    }
    norm = Normalizer.from_stats(stats)
    assert norm.std["observation.state"][-1] >= 1e-2  # floored
    assert norm.mean["action"][6] == 0 and norm.std["action"][6] == 1  # the gripper passes unchanged
    x = np.random.default_rng(0).normal(size=(4, 15)).astype(np.float32)
    y = norm.normalize("observation.state", x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(norm.unnormalize("observation.state", y), x, rtol=1e-5, atol=1e-5)
    a = torch.tensor([[0.8, 0.3, -0.2, 0.3, 0.3, 0.3, -1.0]], dtype=torch.float64)
    b = norm.normalize("action", a)
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
    assert b[0, 0].item() == pytest.approx(1.0) and b[0, 6].item() == -1.0
    torch.testing.assert_close(norm.unnormalize("action", b), a)
    again = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
    np.testing.assert_array_equal(again.normalize("observation.state", x), y)
    with pytest.raises(KeyError, match="known"):
        norm.normalize("observation.environment_state", x)
    with pytest.raises(ValueError, match="last axis"):
        norm.normalize("action", x)


# --- the video corpus --------------------------------------------------------------------------
def test_video_corpus_from_a_folder(tmp_path):
    import imageio.v2 as imageio

    folder = tmp_path / "videos"
    (folder / "sub").mkdir(parents=True)
    frames = np.stack([np.full((20, 30, 3), 10 * t, np.uint8) for t in range(6)])
    encode_video(folder / "a.mp4", frames, FPS)
    (folder / "a.txt").write_text("a person opens a drawer\n")
    imageio.mimsave(folder / "sub" / "b.gif", list(frames[:4]), duration=33)
    (folder / "captions.jsonl").write_text(json.dumps({"file": "sub/b.gif", "caption": "a gif"}) + "\n")
    corpus = VideoCorpus([folder], history=3, future=2, image_size={"rgb_static": (16, 16), "rgb_gripper": (8, 8)})
    assert len(corpus) == 6 + 4
    s = corpus[0]
    assert s["caption"] == "a person opens a drawer"
    assert s["rgb_static"].shape == (3, 3, 16, 16) and s["rgb_gripper"].shape == (3, 3, 8, 8)
    assert s["history_mask"].tolist() == [False, False, True] and s["future_mask"].tolist() == [False, False, True]
    assert not s["has_rgb_gripper"] and (s["rgb_gripper"] == 0).all()
    assert frame_value(s["future_rgb_static"])[2] == pytest.approx(20, abs=3)
    assert corpus[6]["caption"] == "a gif"
    batch = next(iter(torch.utils.data.DataLoader(corpus, batch_size=4)))
    assert batch["rgb_static"].shape == (4, 3, 3, 16, 16) and batch["caption"][0] == "a person opens a drawer"


def test_video_corpus_from_a_dataset(dataset):
    corpus = VideoCorpus([dataset], history=2, future=1, image_size={"rgb_static": (8, 8), "rgb_gripper": (8, 8)})
    assert len(corpus) == sum(LENGTHS)
    s = corpus[LENGTHS[0]]
    assert s["caption"] == "instruction close_drawer" and bool(s["has_rgb_gripper"])
    assert frame_value(s["rgb_gripper"])[1] == pytest.approx(brightness(1, 0), abs=3)


def test_video_corpus_errors(tmp_path):
    with pytest.raises(ValueError, match="no video files"):
        VideoCorpus([tmp_path])
    with pytest.raises(ValueError, match="not a folder"):
        VideoCorpus([tmp_path / "missing"])
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="broken.mp4"):
        VideoCorpus([tmp_path])
    (tmp_path / "broken.mp4").unlink()
    encode_video(tmp_path / "ok.mp4", np.zeros((2, 8, 8, 3), np.uint8), FPS)
    (tmp_path / "captions.jsonl").write_text('{"file": "other.mp4", "caption": "x"}\n')
    with pytest.raises(ValueError, match="other.mp4"):
        VideoCorpus([tmp_path])
    (tmp_path / "captions.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="line 1"):
        VideoCorpus([tmp_path])


def test_video_io_errors(tmp_path):
    with pytest.raises(VideoError, match="even"):
        encode_video(tmp_path / "odd.mp4", np.zeros((2, 7, 8, 3), np.uint8), FPS)
    encode_video(tmp_path / "v.mp4", np.zeros((3, 8, 8, 3), np.uint8), FPS)
    with pytest.raises(VideoError, match="ends before frame 3"):
        decode_video(tmp_path / "v.mp4", ranges=[(1, 5)])
    assert not list(tmp_path.glob(".*partial*"))


def test_spans_locate_each_sample_in_its_run():
    from agents.data.spans import Spans

    spans = Spans([3, 0, 2])  # an empty run in the middle is skipped
    assert len(spans) == 5
    assert [spans.locate(i) for i in range(5)] == [(0, 0), (0, 1), (0, 2), (2, 0), (2, 1)]
    for bad in (-1, 5):
        with pytest.raises(IndexError, match="out of range for 5 samples"):
            spans.locate(bad)
    assert len(Spans([])) == 0
