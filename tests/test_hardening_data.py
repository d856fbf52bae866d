"""Regression corpus (issue 14): datasets carry LeRobot 0.6's quantile stats; a damaged dataset or
staging is a clear error or is repaired, never a traceback or a collection stuck until cleaned by hand."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from test_data import build  # noqa: E402

from agents.data.lerobot_format import (  # noqa: E402
    IMAGE_PREFIX,
    QUANTILES,
    aggregate_stats,
    array_stats,
    read_info,
    read_stats,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("data")
    return build(tmp / "data", tmp)


def test_stats_carry_lerobot_quantiles(dataset):
    stats = read_stats(dataset)
    assert set(QUANTILES) == {"q01", "q10", "q50", "q90", "q99"}
    for key in ("action", "observation.state", IMAGE_PREFIX + "rgb_static"):
        for q in QUANTILES:
            assert q in stats[key], (key, q)
            low, high = stats[key]["min"] - 1e-9, stats[key]["max"] + 1e-9
            assert np.all(low <= stats[key][q]) and np.all(stats[key][q] <= high)
    assert stats[IMAGE_PREFIX + "rgb_static"]["q50"].shape == (3, 1, 1)
    assert stats["action"]["q50"].shape == (7,)


def test_quantiles_of_one_set_are_exact_and_aggregate_as_lerobot():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 3))
    stats = array_stats(values)
    np.testing.assert_allclose(stats["q90"], np.quantile(values, 0.9, axis=0))
    parts = [array_stats(values[:10]), array_stats(values[10:])]
    pooled = aggregate_stats(parts)
    np.testing.assert_allclose(pooled["q50"], (10 * parts[0]["q50"] + 40 * parts[1]["q50"]) / 50)
    # sets staged before quantiles were written: none are made up
    assert "q50" not in aggregate_stats([parts[0], {k: v for k, v in parts[1].items() if k not in QUANTILES}])


def test_missing_stats_and_features_are_clear_errors(dataset, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    (broken / "meta/stats.json").unlink()
    with pytest.raises(ValueError, match="no meta/stats.json"):
        read_stats(broken)
    info = json.loads((broken / "meta/info.json").read_text())
    del info["features"]
    (broken / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="features"):
        read_info(broken)


def test_edited_fps_is_refused(dataset, tmp_path):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(dataset, edited)
    info = json.loads((edited / "meta/info.json").read_text())
    info["fps"] = 15
    (edited / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="encoded at 30 fps"):
        read_info(edited)


def test_truncated_staged_episode_is_recorded_again(tmp_path, monkeypatch, capsys):
    from gr_bench import collect as collect_module
    from gr_bench.collect import collect, stage_name

    args = dict(tasks=["open_drawer", "move_slider_left"], size=48, gripper_size=32, progress=False)
    out = tmp_path / "d"

    def killed(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(collect_module, "assemble", killed)
    with pytest.raises(KeyboardInterrupt):
        collect("seen", 1, out, **args)
    monkeypatch.undo()
    staged = sorted((out / ".staging").glob("*.npz"))
    assert len(staged) >= 2
    staged[0].write_bytes(staged[0].read_bytes()[:100])  # a disk that filled up, a copy cut short
    video = next((out / ".staging").glob(staged[1].name.replace(".npz", ".*.mp4")))
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    runs = []
    original = collect_module.Recorder.run
    monkeypatch.setattr(collect_module.Recorder, "run", lambda self, *key: runs.append(key) or original(self, *key))
    summary = collect("seen", 1, out, **args)
    assert sorted(stage_name(*key) for key in runs) == [path.name.removesuffix(".npz") for path in staged[:2]]
    err = capsys.readouterr().err
    assert "is damaged" in err and f"recording {staged[1].name.removesuffix('.npz')} again" in err
    assert summary["episodes"] == len(staged)
    stats = read_stats(out)
    assert "q99" in stats["action"] and "q01" in stats[IMAGE_PREFIX + "rgb_static"]
