"""Leaderboard submissions: a submission is a results file, and it is data, never code.

Validation checks the file against the results schema and the released suite manifest
(``leaderboards/manifest.json``: name, version, hash and size of every released suite), checks
that every episode of the suite is there exactly once and nothing else, and recomputes every
aggregate from the per-episode records, so a number edited by hand is caught. Each problem is
reported with the field it concerns.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).resolve().parents[1] / "leaderboards" / "manifest.json"
MAX_SUBMISSION_BYTES = 64 * 1024 * 1024  # a full long-horizon run is about 2 MB
FLOAT_TOLERANCE = 1e-9


class SubmissionError(ValueError):
    """A submission that cannot be accepted; the message names the field and what is wrong."""


def build_manifest() -> dict[str, Any]:
    """The released suites as they are built now (name, version, hash, episode count)."""
    from gr_bench.suites import BUILDERS, get_suite

    suites = {}
    for name in BUILDERS:
        suite = get_suite(name)
        suites[name] = {"version": suite.version, "hash": suite.hash, "episodes": len(suite.episodes)}
    return {"suites": suites}


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_submission(path: str | Path) -> dict[str, Any]:
    """Parse a submission file, refusing oversize or malformed input with a clear message."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{path}: {size} bytes is over the {MAX_SUBMISSION_BYTES} byte limit for a submission")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: not a JSON results file ({exc})") from exc
    if not isinstance(data, dict):
        raise SubmissionError(f"{path}: a results file is a JSON object, got {type(data).__name__}")
    return data


def validate_submission(results: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
    """Raise ``SubmissionError`` naming the first problem found, or return if the file is sound."""
    import jsonschema

    from gr_bench.results import aggregate, validate
    from gr_bench.suites import get_suite

    try:
        validate(results)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise SubmissionError(f"schema: field {where}: {exc.message}") from exc
    manifest = manifest or load_manifest()
    suite_info = results["suite"]
    name = suite_info["name"]
    released = manifest["suites"].get(name)
    if released is None:
        raise SubmissionError(f"suite.name: {name!r} is not a released suite ({', '.join(manifest['suites'])})")
    for key in ("version", "hash", "episodes"):
        if suite_info[key] != released[key]:
            raise SubmissionError(
                f"suite.{key}: {suite_info[key]!r} does not match the released {name} suite ({released[key]!r}); "
                "submit a run of the full released suite"
            )
    suite = get_suite(name)
    if suite.hash != released["hash"]:
        raise SubmissionError(f"this checkout builds {name} with hash {suite.hash}, not the released one: update it")

    ids = [r["episode_id"] for r in results["episodes"]]
    duplicated = sorted({i for i in ids if ids.count(i) > 1}) if len(ids) != len(set(ids)) else []
    if duplicated:
        raise SubmissionError(f"episodes: {len(duplicated)} episode(s) appear more than once, e.g. {duplicated[0]!r}")
    expected = {e.episode_id: e for e in suite.episodes}
    missing = sorted(set(expected) - set(ids))
    if missing:
        raise SubmissionError(f"episodes: {len(missing)} episode(s) of the suite are missing, e.g. {missing[0]!r}")
    extra = sorted(set(ids) - set(expected))
    if extra:
        raise SubmissionError(f"episodes: {len(extra)} episode(s) are not in the suite, e.g. {extra[0]!r}")
    for index, record in enumerate(results["episodes"]):
        episode = expected[record["episode_id"]]
        for key, want in (("seed", episode.seed), ("tasks", list(episode.tasks)), ("scene", episode.scene)):
            if record[key] != want:
                raise SubmissionError(f"episodes[{index}].{key}: {record[key]!r}, but the suite says {want!r}")
        if record["completed"] > len(record["tasks"]) or (record["success"] and record["failure"]):
            raise SubmissionError(f"episodes[{index}]: success, completed and failure contradict each other")

    recomputed = aggregate(results["episodes"])
    mismatch = _first_difference(results["aggregates"], recomputed, "aggregates")
    if mismatch:
        raise SubmissionError(f"{mismatch}: does not match the value recomputed from the episode records")


def _first_difference(given: Any, expected: Any, where: str) -> str | None:
    if isinstance(expected, dict):
        if not isinstance(given, dict) or set(given) != set(expected):
            return where
        for key in expected:
            found = _first_difference(given[key], expected[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(given, list) or len(given) != len(expected):
            return where
        for i, (g, e) in enumerate(zip(given, expected, strict=True)):
            found = _first_difference(g, e, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, float) or isinstance(given, float):
        ok = isinstance(given, int | float) and math.isclose(given, expected, rel_tol=0, abs_tol=FLOAT_TOLERANCE)
        return None if ok else where
    return None if given == expected else where
