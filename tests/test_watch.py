"""`gr-bench watch`: an episode of a run played again with the run's agent, filmed, and compared
with what the run recorded."""

import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest

from gr_bench.evaluator import evaluate
from gr_bench.suites import get_suite
from gr_bench.watch import describe, film_episode

ROOT = Path(__file__).resolve().parents[1]


def _frames(path: Path) -> tuple[int, object]:
    """How many frames the video has, and its first."""
    reader = imageio.get_reader(path)
    first = reader.get_data(0)
    if path.suffix == ".mp4":
        import imageio_ffmpeg

        return imageio_ffmpeg.count_frames_and_secs(str(path))[0], first
    return len(imageio.mimread(path)), first


def _fps(env_id: str) -> int:
    import gymnasium as gym

    import envs  # noqa: F401

    env = gym.make(env_id, cameras=())
    try:
        return env.metadata["render_fps"]
    finally:
        env.close()


def test_replays_a_failed_episode_as_recorded_and_films_every_step(tmp_path):
    suite = get_suite("seen").select(env="GRBench/Tabletop-v0", episodes=2)
    evaluate(suite, "random", tmp_path / "run", progress=False)
    result = film_episode(tmp_path / "run")  # no --episode: the run's first failed one
    assert result["episode"].episode_id == suite.episodes[0].episode_id
    assert not result["record"]["success"]
    assert result["record"]["steps"] == result["recorded"]["steps"] == 360
    assert "as the run recorded it" in describe(result)
    count, first = _frames(result["video"])
    fps = _fps("GRBench/Tabletop-v0")
    assert count == 360 + 1 + fps  # the first observation, one per step, the outcome held a second
    assert first.shape[1] > first.shape[0]  # the cameras side by side
    assert result["video"] == tmp_path / "run" / "videos" / (suite.episodes[0].episode_id.replace("/", "_") + ".mp4")


def test_films_a_privileged_agent_too_and_picks_an_episode_by_part_of_its_id(tmp_path):
    suite = get_suite("smoke")
    evaluate(suite, "oracle", tmp_path / "run", progress=False)
    wanted, wanted_env = suite.episodes[1].episode_id, suite.episodes[1].env_id
    result = film_episode(tmp_path / "run", wanted.split("/", 1)[1], tmp_path / "oracle.mp4")
    assert result["episode"].episode_id == wanted
    assert result["record"]["success"] and result["recorded"]["success"]
    assert _frames(tmp_path / "oracle.mp4")[0] == result["record"]["steps"] + 1 + _fps(wanted_env)


def test_bad_input_is_one_line(tmp_path):
    evaluate(get_suite("smoke"), "oracle", tmp_path / "run", progress=False)
    cases = [
        ([str(tmp_path)], "is not a run directory"),
        ([str(tmp_path / "run"), "--episode", "no-such-episode"], "no episode of this run"),
        ([str(tmp_path / "run"), "--episode", "/"], "give more of the id"),
        ([str(tmp_path / "run"), "--out", str(tmp_path / "x.avi")], "must end in .mp4 or .gif"),
    ]
    for args, message in cases:
        done = subprocess.run(
            [sys.executable, "-m", "gr_bench.cli", "watch", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "x.avi").exists()


@pytest.mark.parametrize("name", ["seen/none", "/train/"])
def test_ambiguous_part_names_the_candidates(tmp_path, name):
    from gr_bench.watch import pick_episode

    episodes = get_suite("seen").select(env="GRBench/Tabletop-v0", episodes=4).episodes
    with pytest.raises(ValueError, match="episodes match"):
        pick_episode(list(episodes), {}, name)


def test_films_an_episode_of_a_results_file_or_a_board_submission(tmp_path, monkeypatch):
    """A results file (or a submission wrapping one) holds no suite.json: its episodes are found again in
    the released suite it names; one that is not there (a hidden split) is refused."""
    import json

    monkeypatch.chdir(tmp_path)
    results = evaluate(get_suite("smoke"), "oracle", tmp_path / "run", progress=False)
    submission = tmp_path / "oracle-submission.json"
    submission.write_text(json.dumps({"submission": {"name": "oracle"}, "results": results}))
    for source in (tmp_path / "run" / "results.json", submission):
        result = film_episode(source, "open_drawer")
        assert result["record"]["success"] and result["recorded"]["success"]
        assert result["video"] == Path("runs") / "videos" / "oracle" / (
            result["episode"].episode_id.replace("/", "_") + ".mp4"
        )
        assert result["video"].is_file()
    results["episodes"][0]["seed"] += 1  # not the released episode any more
    (tmp_path / "edited.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="not in released suite smoke v1"):
        film_episode(tmp_path / "edited.json")
    results["episodes"][0]["seed"] -= 1
    results["agent"] = {"name": "gr1", "config": {"checkpoint": str(ROOT / "agents/reference/gr1-tiny")}}
    results["agent"]["checkpoint_sha256"] = "0" * 64  # made with other weights than the shipped ones
    (tmp_path / "other-weights.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match="now holds another"):
        film_episode(tmp_path / "other-weights.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a results file"):
        film_episode(tmp_path / "bad.json")


def test_the_report_says_how_to_watch_a_failure(tmp_path):
    from gr_bench.report import write_reports

    failing = evaluate(get_suite("seen").select(env="GRBench/Tabletop-v0", episodes=1), "random", tmp_path / "r")
    md, page = write_reports(failing, tmp_path / "r")
    assert f"`gr-bench watch {tmp_path / 'r'} --episode EPISODE`" in md.read_text()
    assert f"<code>gr-bench watch {tmp_path / 'r'} --episode EPISODE</code>" in page.read_text()
    passing = evaluate(get_suite("smoke").select(episodes=1), "oracle", tmp_path / "o", progress=False)
    md, page = write_reports(passing, tmp_path / "o")
    assert "gr-bench watch" not in md.read_text() and "gr-bench watch" not in page.read_text()
