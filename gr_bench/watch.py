"""Film one episode of a run: ``gr-bench watch RUN --episode ID`` plays the episode again with the
run's agent and config and writes what the cameras saw as a video, then says whether the replay
ended as the run recorded it (an agent that is deterministic given the episode's seed does).

RUN is a run directory (``gr-bench eval --out``), or a results file: a run's ``results.json`` or a
leaderboard submission, whose episodes are found again in the released suite it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gr_bench.suites import Episode


def run_episodes(run: Path) -> tuple[dict[str, Any], list[Episode], dict[str, dict[str, Any]]]:
    """The run's identity (run.json), its episodes as run (suite.json) and its records so far."""
    from gr_bench.evaluator.run_directory import read_done

    if run.is_file():
        return results_episodes(run)
    for name in ("run.json", "suite.json"):
        if not (run / name).is_file():
            raise ValueError(f"{run} is not a run directory (it has no {name}): give a folder gr-bench eval wrote")
    identity = json.loads((run / "run.json").read_text(encoding="utf-8"))
    suite = json.loads((run / "suite.json").read_text(encoding="utf-8"))
    episodes = [Episode.from_json(e) for e in suite["episodes"]]
    log = run / "episodes.jsonl"
    records = read_done(log, repair=False) if log.is_file() else {}
    return identity, episodes, records


def results_episodes(path: Path) -> tuple[dict[str, Any], list[Episode], dict[str, dict[str, Any]]]:
    """A results file's (or a leaderboard submission's) agent, its episodes from the released suite it
    names, and its records."""
    from gr_bench.suites import get_suite

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data.get("results", data)  # a submission wraps the results file
        agent, described = results["agent"], results["suite"]
        records = {r["episode_id"]: r for r in results["episodes"]}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a results file or a leaderboard submission ({exc})") from exc
    suite = get_suite(described["name"], described["version"])
    if described.get("track", "all") != "all":
        suite = suite.select(track=described["track"])
    released = {e.episode_id: e for e in suite.episodes}
    episodes = [released[i] for i in records if i in released and released[i].seed == records[i]["seed"]]
    if len(episodes) < len(records):
        raise ValueError(
            f"{path}: {len(records) - len(episodes)} of its episodes are not in released suite "
            f"{described['name']} v{described['version']} (a hidden split?): give its run directory instead"
        )
    identity = {"agent": agent["name"], "agent_config": agent.get("config") or None}
    return identity | {"checkpoint_sha256": agent.get("checkpoint_sha256")}, episodes, records


def pick_episode(episodes: list[Episode], records: dict[str, dict[str, Any]], wanted: str | None) -> Episode:
    """The episode whose id is ``wanted`` or the only one containing it; with none asked for, the
    run's first failed episode (else its first)."""
    if wanted is None:
        failed = [e for e in episodes if e.episode_id in records and not records[e.episode_id].get("success")]
        return (failed or episodes)[0]
    exact = [e for e in episodes if e.episode_id == wanted]
    matches = exact or [e for e in episodes if wanted in e.episode_id]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        sample = ", ".join(e.episode_id for e in episodes[:3])
        raise ValueError(f"no episode of this run has an id containing {wanted!r} (its ids look like {sample})")
    shown = ", ".join(e.episode_id for e in matches[:4])
    raise ValueError(f"{len(matches)} episodes match {wanted!r} ({shown}, ...): give more of the id")


def film_episode(run: str | Path, wanted: str | None = None, out: str | Path | None = None) -> dict[str, Any]:
    """Play the episode again and write its video; returns the replay's record, the recorded one
    (or None) and the video's path."""
    from gr_bench.evaluator import EpisodeRunner
    from gr_bench.evaluator.run_directory import checkpoint_of
    from gr_bench.video import side_by_side, write_video

    if out is not None and Path(out).suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {Path(out).name!r}")
    run = Path(run)
    identity, episodes, records = run_episodes(run)
    episode = pick_episode(episodes, records, wanted)
    recorded_sha = identity.get("checkpoint_sha256")
    if recorded_sha and checkpoint_of(identity.get("agent_config")) != recorded_sha:
        raise ValueError(
            f"the run was made with a checkpoint of sha256 {recorded_sha[:16]}, but "
            f"{identity['agent_config']['checkpoint']} now holds another (retrained?): a replay would not be the run"
        )
    frames = []

    def keep(obs: dict[str, Any]) -> None:
        frames.append(side_by_side([value for key, value in obs.items() if key.startswith("rgb_")]))

    runner = EpisodeRunner(identity["agent"], identity.get("agent_config"), watch=keep)
    record = runner.run(episode)
    if not frames:
        raise ValueError(f"episode {episode.episode_id} failed before its first observation: {record.get('failure')}")
    fps = int(runner.environment(episode.env_id).metadata.get("render_fps", 15))
    frames += [frames[-1]] * fps  # the outcome held for a second
    name = episode.episode_id.replace("/", "_") + ".mp4"
    folder = run / "videos" if run.is_dir() else Path("runs") / "videos" / identity["agent"].replace("/", ".")
    path = Path(out) if out else folder / name
    write_video(path, frames, fps=fps)
    return {"episode": episode, "record": record, "recorded": records.get(episode.episode_id), "video": path}


def describe(result: dict[str, Any]) -> str:
    """What happened, in two lines: the replay's outcome and whether it matches the run's record."""
    episode, record, recorded = result["episode"], result["record"], result["recorded"]
    outcome = "success" if record["success"] else "failed"
    failure = f" ({record['failure']['kind']}: {record['failure']['message']})" if record.get("failure") else ""
    lines = [
        f'{episode.episode_id}: "{" / ".join(episode.instructions)}": {outcome} after {record["steps"]} steps'
        f"{failure}; video: {result['video']}"
    ]
    if recorded is None:
        lines.append("the run has no record of this episode yet")
    elif bool(recorded.get("success")) == bool(record["success"]) and recorded.get("steps") == record["steps"]:
        lines.append("as the run recorded it")
    else:
        was = "success" if recorded.get("success") else "failed"
        lines.append(
            f"the run recorded {was} after {recorded.get('steps')} steps: this replay differs "
            "(an agent that is not deterministic given the seed, or other code or weights than the run's)"
        )
    return "\n".join(lines)
