"""Reuse (``--reuse``): records of an earlier run, results file or submission of the same agent,
config and checkpoint stand for the identical episodes of this run instead of running them again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.atomic import write_atomic
from gr_bench.evaluator.run_directory import (
    SUITE_PATH,
    RunDirectoryError,
    RunMismatchError,
    append_records,
    read_done,
    read_json,
)
from gr_bench.evaluator.runner import episode_progress, last_line
from gr_bench.suites import Episode, Suite

REUSED_PATH = "reused.json"  # in a run directory: which records came from which earlier run


def load_earlier_run(source: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[Episode] | None]:
    """(suite info, agent info, records, its episodes if the run wrote them) of a run directory, a
    results file or a leaderboard submission; nothing in it is changed."""
    episodes = None
    if source.is_dir():
        if (source / SUITE_PATH).exists():
            suite_file = read_json(source / SUITE_PATH, "suite file")
            try:
                episodes = [Episode.from_json(e) for e in suite_file["episodes"]]
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"--reuse {source / SUITE_PATH}: not a suite file ({last_line(exc)})") from exc
        if (source / "results.json").exists():
            source = source / "results.json"
        elif (source / "run.json").exists():
            meta = read_json(source / "run.json", "run description")
            if not {"suite", "suite_hash", "agent", "agent_config"} <= set(meta):
                raise ValueError(f"--reuse {source / 'run.json'}: not a gr-bench run description")
            suite = {"name": meta["suite"], "hash": meta["suite_hash"]}
            agent = {"name": meta["agent"], "config": meta["agent_config"]}
            if meta.get("checkpoint_sha256"):
                agent["checkpoint_sha256"] = meta["checkpoint_sha256"]
            records = list(read_done(source / "episodes.jsonl", repair=False).values())
            return {"suite": suite, "agent": agent}, records, episodes
        else:
            raise ValueError(f"--reuse {source}: no results.json or run.json there")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--reuse {source}: not a results file ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("results", data)  # a leaderboard submission wraps the results
    from gr_bench.results import validate

    try:
        validate(data)
    except Exception as exc:  # jsonschema.ValidationError: say which field
        raise ValueError(
            f"--reuse {source}: not a gr-bench results file, run directory or submission "
            f"({getattr(exc, 'message', exc)})"
        ) from exc
    return data, data["episodes"], episodes


def earlier_episodes(name: str, suite_hash: str) -> tuple[int, list[Episode]]:
    """The released version of suite ``name`` whose hash, or one of whose tracks' hash, is
    ``suite_hash``, and the episodes it names."""
    from gr_bench.suites import get_suite, versions

    for version in versions(name):
        suite = get_suite(name, version)
        if suite.hash == suite_hash:
            return version, list(suite.episodes)
        for track in suite.tracks:
            if suite.track_hash(track) == suite_hash:
                return version, list(suite.select(track=track).episodes)
    raise ValueError(
        f"--reuse: this checkout builds no version of suite {name!r} with hash {suite_hash[:16]}...; reuse needs "
        "a run of a released suite version, or a run directory written by this version of gr-bench"
    )


def _but_checkpoint(config: dict | None) -> dict:
    return {k: v for k, v in (config or {}).items() if k != "checkpoint"}


def reusable(
    source: Path, suite: Suite, agent_spec: str, agent_config: dict | None, checkpoint_sha256: str | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Provenance and the records of ``source`` that can stand for episodes of ``suite``: same agent,
    config and checkpoint content, and the episode's JSON (seed, initial state, variations, step
    budget...) identical."""
    data, records, episodes = load_earlier_run(source)
    # the checkpoint is named by its content (sha256, checked below), not by how the run spelled its
    # path: `agents/reference/gr3-tiny` and `reference:gr3-tiny` are one model
    earlier_config = _but_checkpoint(data["agent"].get("config"))
    if data["agent"]["name"] != agent_spec or earlier_config != _but_checkpoint(agent_config):
        raise ValueError(
            f"--reuse {source}: it ran agent {data['agent']['name']!r} with config {data['agent'].get('config')}, "
            f"not {agent_spec!r} with {agent_config or {}}; only the same agent's records can be reused"
        )
    if data["agent"].get("checkpoint_sha256") != checkpoint_sha256:
        raise ValueError(
            f"--reuse {source}: its records come from a checkpoint with sha256 "
            f"{data['agent'].get('checkpoint_sha256') or '(not recorded)'}, this run's checkpoint has "
            f"{checkpoint_sha256}; only the same model's records can be reused"
        )
    name, suite_hash = data["suite"]["name"], data["suite"]["hash"]
    if episodes is None:
        version, episodes = earlier_episodes(name, suite_hash)
    else:
        version = data["suite"].get("version")
    before = {e.episode_id: e for e in episodes}
    wanted = {e.episode_id: e for e in suite.episodes}
    reusable = {}
    for record in records:
        episode_id = record["episode_id"]
        if (
            episode_id in wanted
            and episode_id in before
            and before[episode_id].to_json() == wanted[episode_id].to_json()
        ):
            # records of an older schema lack the environment and the progress: add them
            record = {**record, "env_id": wanted[episode_id].env_id}
            record["progress"] = episode_progress(record)
            reusable[episode_id] = record
    provenance = {
        "records": len(reusable),
        "source": str(source),
        "suite": {"name": name, "version": version, "hash": suite_hash},
    }
    return provenance, reusable


def import_reused(
    out: Path,
    suite: Suite,
    agent_spec: str,
    agent_config: dict | None,
    checkpoint_sha256: str | None,
    reuse: Path | None,
    done: dict,
) -> dict[str, Any] | None:
    """Append the reusable records of ``reuse`` to the run's log once; on a resumed run, finish an
    import a crash cut short. Returns the provenance for the results file."""
    path = out / REUSED_PATH
    if path.exists():
        provenance = read_json(path, "record of reused runs")
        if not isinstance(provenance.get("source"), str) or not isinstance(provenance.get("episode_ids"), list):
            raise RunDirectoryError(f"{path}: not a record of reused runs (source, episode_ids); restore it")
        source = Path(provenance["source"])
        if reuse is not None and reuse.resolve() != source.resolve():
            raise RunMismatchError(f"{out} already reused the records of {source}, not {reuse}; choose another --out")
        ids = set(provenance.pop("episode_ids"))
        if not ids <= set(done):  # a crash between the two writes below
            _, records = reusable(source, suite, agent_spec, agent_config, checkpoint_sha256)
            append_records(out / "episodes.jsonl", [records[i] for i in sorted(ids - set(done))], done)
        return provenance
    if reuse is None:
        return None
    provenance, records = reusable(reuse, suite, agent_spec, agent_config, checkpoint_sha256)
    records = {i: r for i, r in records.items() if i not in done}
    provenance["records"] = len(records)
    # what will be imported is written down first, so that a crash in between can be finished
    write_atomic(path, json.dumps({**provenance, "episode_ids": sorted(records)}, indent=1))
    append_records(out / "episodes.jsonl", list(records.values()), done)
    return provenance
