"""Results: per-episode records, aggregates with Wilson 95% intervals, and the results file.

The schema is ``gr_bench/schemas/results.schema.json``; ``aggregate`` is the one place numbers are
computed from records, so the leaderboard's validation can recompute and compare them.
"""

from __future__ import annotations

import functools
import json
import math
import platform
import subprocess
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

from agents.atomic import write_atomic

# 2: records carry env_id and progress (and subtasks where the env reports them); aggregates per_env, mean_progress
# 3: aggregates refusal (precision, recall, false refusals) and done_claims (status calibration)
SCHEMA_VERSION = 3
SCHEMA_VERSIONS = (1, 2, 3)  # files of every version still validate and load
# suite.track (optional in every version): "all" for a run drawn from the whole suite, else the family
# id of the one track it was drawn from; suite.hash is then that track's hash (gr_bench.suites.Suite.hash).
# A file without it is a run of the whole suite.
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "results.schema.json"
Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there is no data."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(successes: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(successes, n)
    return {"n": n, "successes": successes, "rate": successes / n if n else 0.0, "ci95": [lo, hi]}


def aggregate(records: list[dict[str, Any]], schema_version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """Success overall, per task, per axis, per instruction category and per scene; for chains,
    success after 1..k tasks and the average number of tasks completed. From schema version 2 also
    mean progress, overall and per environment (with its own per-axis and per-category success),
    and per object the outcome of the subtasks that name it (where the environment reports subtasks).
    Episodes marked ``headline: false`` count in their task's row and in ``beside_headline`` only."""
    if schema_version not in SCHEMA_VERSIONS:
        raise ValueError(f"results schema version {schema_version!r} is not one of {SCHEMA_VERSIONS}")
    groups: dict[str, dict[str, list[bool]]] = {k: defaultdict(list) for k in ("task", "axis", "category", "scene")}
    overall = []
    chains = [r for r in records if len(r["tasks"]) > 1]
    # episodes marked beside the headline (``headline: false``) count in their task's row only
    beside = [r for r in records if not r.get("headline", True)]
    for r in records:
        ok = bool(r["success"])
        if r.get("headline", True):
            overall.append(ok)
            groups["axis"][r["axis"]].append(ok)
            groups["category"][r["instruction_category"]].append(ok)
            groups["scene"][r["scene"]].append(ok)
        # a chain contributes each subtask it reached to that task's row
        for i, task in enumerate(r["tasks"]):
            if i > r["completed"]:
                break
            groups["task"][task].append(i < r["completed"] if len(r["tasks"]) > 1 else ok)
    result: dict[str, Any] = {"overall": _rate(sum(overall), len(overall))}
    for key, rows in groups.items():
        result[f"per_{key}"] = {name: _rate(sum(v), len(v)) for name, v in sorted(rows.items())}
    if chains:
        result["chains"] = _chain_stats(chains)
        # protocols (ABC->D, ABCD->D) are axes of the long-horizon suite and are reported apart
        by_axis: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in chains:
            by_axis[r["axis"]].append(r)
        result["chains_per_axis"] = {axis: _chain_stats(rows) for axis, rows in sorted(by_axis.items())}
    if beside:
        tasks: dict[str, list[bool]] = defaultdict(list)
        for r in beside:
            tasks[r["tasks"][0]].append(bool(r["success"]))
        result["beside_headline"] = {
            "overall": _rate(sum(bool(r["success"]) for r in beside), len(beside)),
            "per_task": {name: _rate(sum(v), len(v)) for name, v in sorted(tasks.items())},
        }
    headline = [r for r in records if r.get("headline", True)]
    result["failures"] = dict(sorted(_count(r["failure"]["kind"] for r in records if r.get("failure")).items()))
    if schema_version >= 2:
        result["mean_progress"] = _mean(r["progress"] for r in headline)
        by_env: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in headline:
            by_env[r["env_id"]].append(r)
        result["per_env"] = {env: _env_stats(rows) for env, rows in sorted(by_env.items())}
        objects: dict[str, list[bool]] = defaultdict(list)
        for r in records:
            for subtask in r.get("subtasks", []):
                if subtask["object"] is not None:
                    objects[subtask["object"]].append(bool(subtask["done"]))
        result["per_object"] = {name: _rate(sum(v), len(v)) for name, v in sorted(objects.items())}
    if schema_version >= 3:
        result["refusal"] = refusal_scores(records)
        result["done_claims"] = done_claim_scores(records)
    return result


def refusal_scores(records: list[dict[str, Any]]) -> dict[str, Any]:
    """How well the agent's ``invalid`` status separates impossible requests from the rest: recall
    (impossible requests it refused), precision (its refusals that were impossible requests) and
    the false-refusal rate (valid requests it refused). An agent that never reported a status
    gets ``{"status": "n/a"}``: touching nothing is not a refusal."""
    if not any(r.get("status", "ongoing") != "ongoing" for r in records):
        return {"status": "n/a"}
    invalid = [r for r in records if r["instruction_category"] == "invalid"]
    valid = [r for r in records if r["instruction_category"] != "invalid"]
    refused = [r for r in records if r.get("status") == "invalid"]
    right = sum(r.get("status") == "invalid" for r in invalid)
    return {
        "refusals": len(refused),
        "recall": _rate(right, len(invalid)),
        "precision": _rate(right, len(refused)),
        "false_refusal": _rate(sum(r.get("status") == "invalid" for r in valid), len(valid)),
    }


def done_claim_scores(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Status calibration of the agent's own "I am done" (``terminated``), from episodes scored
    with rules 3: recall, the successful tasks after which it said so; precision, its claims that
    were true (a claim before success ends the task as a failure). ``{"status": "n/a"}`` where no
    episode asked, or the agent never claimed."""
    asked = [r for r in records if r.get("rules", 2) >= 3]
    true_claims = sum(sum(r.get("done_claims", [])) for r in asked)
    successes = sum(len(r.get("done_claims", [])) for r in asked)
    premature = sum(r.get("status") == "terminated" for r in asked)
    if not asked or true_claims + premature == 0:
        return {"status": "n/a"}
    return {
        "claims": true_claims + premature,
        "recall": _rate(true_claims, successes),
        "precision": _rate(true_claims, true_claims + premature),
    }


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _env_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, dict[str, list[bool]]] = {"axis": defaultdict(list), "category": defaultdict(list)}
    for r in records:
        groups["axis"][r["axis"]].append(bool(r["success"]))
        groups["category"][r["instruction_category"]].append(bool(r["success"]))
    return {
        "overall": _rate(sum(bool(r["success"]) for r in records), len(records)),
        "mean_progress": _mean(r["progress"] for r in records),
        **{f"per_{key}": {k: _rate(sum(v), len(v)) for k, v in sorted(rows.items())} for key, rows in groups.items()},
    }


def _chain_stats(chains: list[dict[str, Any]]) -> dict[str, Any]:
    length = max(len(r["tasks"]) for r in chains)
    return {
        "n": len(chains),
        "success_after": [sum(r["completed"] >= k for r in chains) / len(chains) for k in range(1, length + 1)],
        "avg_len": sum(r["completed"] for r in chains) / len(chains),
    }


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item] += 1
    return counts


def environment_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("gr-bench", "mujoco", "gymnasium", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def build_results(
    suite,
    agent_spec: str,
    agent_config: dict,
    records: list[dict],
    workers: int,
    reused: dict | None = None,
    checkpoint_sha256: str | None = None,
    privileged_inputs: list[str] | None = None,
    privileged: bool = False,
) -> dict[str, Any]:
    """The results file's content; ``reused`` says which records came from an earlier run,
    ``checkpoint_sha256`` (``agents.train.checkpoint.checkpoint_sha256``) which model made them,
    ``privileged_inputs`` what simulator state a learned agent read (a control, kept off the boards),
    and ``privileged`` that the agent was handed the environment itself (the oracle, the controls)."""
    agent: dict[str, Any] = {"name": agent_spec, "config": agent_config}
    if checkpoint_sha256:
        agent["checkpoint_sha256"] = checkpoint_sha256
    if privileged:
        agent["privileged"] = True
    if privileged_inputs:
        agent["privileged_inputs"] = list(privileged_inputs)
    order = {e.episode_id: i for i, e in enumerate(suite.episodes)}
    records = sorted(records, key=lambda r: order[r["episode_id"]])
    results = {
        "schema_version": SCHEMA_VERSION,
        "suite": {
            "name": suite.name,
            "version": suite.version,
            "track": suite.track,
            "hash": suite.hash,
            "episodes": len(suite.episodes),
        },
        "agent": agent,
        "versions": environment_versions(),
        "git_revision": git_revision(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "workers": workers,
        "seeds": [e.seed for e in suite.episodes],
        "episodes": records,
        "aggregates": aggregate(records),
    }
    if suite.subset_of is not None:  # a filtered or subsampled run says what it was drawn from
        results["suite"]["subset_of"] = dict(suite.subset_of)
    if reused:
        results["reused"] = reused
    timed = timing(records)
    if timed:
        results["timing"] = timed
    return results


# record fields that measure where the wall time went (wall times differ between two runs of the
# same episode; records of runs from before timing was recorded have none of them)
TIMING_FIELDS = ("seconds", "acts", "agent_seconds", "env_seconds")


def without_timing(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without their wall-time fields: what must agree between two runs of one suite."""
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in records]


def timing(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where the wall time went, over the records that measured it (records reused from runs before
    timing was recorded did not): the agent's act() per call, and the shares of the episodes' time
    spent in the agent and in the environment (the rest: observation copies, checks, bookkeeping)."""
    timed = [r for r in records if "agent_seconds" in r and r.get("seconds")]
    acts = sum(r["acts"] for r in timed)
    total = sum(r["seconds"] for r in timed)
    if not timed or not acts or not total:
        return None
    return {
        "episodes": len(timed),
        "act_ms": round(1000 * sum(r["agent_seconds"] for r in timed) / acts, 3),
        "agent_share": round(sum(r["agent_seconds"] for r in timed) / total, 4),
        "env_share": round(sum(r["env_seconds"] for r in timed) / total, 4),
    }


def validate(results: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` if ``results`` does not follow the schema (the best
    match of its errors, as ``jsonschema.validate``; the schema is read and checked once)."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(results))
    if error is not None:
        raise error


@functools.cache
def _validator():
    import jsonschema

    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a crash never leaves half a results file."""
    write_atomic(path, json.dumps(data, indent=1, ensure_ascii=False))
