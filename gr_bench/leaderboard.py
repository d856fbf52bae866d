"""Leaderboard submissions: a submission is a results file, and it is data, never code.

Validation checks the file against the results schema and the released suite manifest
(``leaderboards/manifest.json``: name, version, hash and size of every released suite and of each
of its tracks, the current version under ``suites`` and older ones under ``previous_versions``: a
run of an older version stays valid for that version), checks that every episode of the suite, or
of the one track the file says it ran (``suite.track``), is there exactly once and nothing else,
and recomputes every aggregate from the per-episode records, so a number edited by hand is caught.
Each problem is reported with the field it concerns.

Boards are per (suite, track): the ``all`` board (``boards/<suite>.md``) ranks runs of the whole
suite; a track board (``boards/<suite>-<track>.md``) ranks that track's runs and, marked as such,
every whole-suite run with its numbers recomputed from its records of the track's episodes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from agents.atomic import write_atomic

MANIFEST_PATH = Path(__file__).resolve().parents[1] / "leaderboards" / "manifest.json"
MAX_SUBMISSION_BYTES = 8 * 1024 * 1024  # a full long-horizon run is about 1.4 MB
MAX_NAME_CHARS = 100  # a submission's name on the board
FLOAT_TOLERANCE = 1e-9


class SubmissionError(ValueError):
    """A submission that cannot be accepted; the message names the field and what is wrong."""


def build_manifest() -> dict[str, Any]:
    """The released suites as they are built now (name, version, hash, episode count, and the hash
    and episode count of each track): the current version of each, and every earlier one."""
    from gr_bench.suites import get_suite, suite_names, versions

    def entry(suite) -> dict[str, Any]:
        tracks = {
            track: {"hash": suite.track_hash(track), "episodes": size} for track, size in suite.track_sizes().items()
        }
        return {"version": suite.version, "hash": suite.hash, "episodes": len(suite.episodes), "tracks": tracks}

    suites = {name: entry(get_suite(name)) for name in suite_names()}
    previous = {
        name: {str(v): entry(get_suite(name, v)) for v in versions(name)[:-1]}
        for name in suite_names()
        if versions(name)[1:]
    }
    return {"suites": suites, "previous_versions": previous}


def released_versions(manifest: dict[str, Any], name: str) -> dict[int, dict[str, Any]]:
    """Version -> released entry of suite ``name``, the current one included."""
    versions = {int(v): info for v, info in manifest.get("previous_versions", {}).get(name, {}).items()}
    current = manifest["suites"][name]
    return {**versions, current["version"]: current}


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
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"{path}: not a JSON results file ({exc})") from exc
    if not isinstance(data, dict):
        raise SubmissionError(f"{path}: a results file is a JSON object, got {type(data).__name__}")
    return data


def _refuse_constant(name: str):
    raise SubmissionError(f"the file holds {name}: a results file has finite numbers only")


def _first_non_finite(value: Any, where: str) -> str | None:
    """The path of the first NaN or infinite number in ``value``, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _first_non_finite(item, f"{where}.{key}" if isinstance(value, dict) else f"{where}[{key}]")
        if found:
            return found
    return None


def _step_budget(episode) -> int:
    """The most control steps ``episode`` can take: its budget per task, or, where the environment
    sets each task's budget, the largest its family declares."""
    if episode.max_steps is not None:
        return episode.max_steps * len(episode.tasks)
    from envs.family import family_named

    family = family_named(episode.env_id)
    if family.max_task_steps is None:
        raise SubmissionError(f"{episode.env_id} declares no step budget for episodes without one")
    return family.max_task_steps() * len(episode.tasks)


def _check_record(index: int, record: dict[str, Any], episode, schema_version: int) -> None:
    """Every field of an episode record that the suite fixes must be the suite's; counts in range."""
    fixed = episode.to_json()
    expected = {
        "seed": episode.seed,
        "tasks": list(episode.tasks),
        "scene": episode.scene,
        "instructions": list(episode.instructions),
        "instruction_category": episode.instruction_category,
        "axis": episode.axis,
        "variations": fixed.get("variations", {}),
    }
    if schema_version >= 2 or "env_id" in record:
        expected["env_id"] = episode.env_id
    if episode.rules != 2 or "rules" in record:
        expected["rules"] = episode.rules
    for key, want in expected.items():
        if record.get(key) != want:
            raise SubmissionError(f"episodes[{index}].{key}: {record.get(key)!r}, but the suite says {want!r}")
    if record.get("headline", True) != episode.headline:
        raise SubmissionError(f"episodes[{index}].headline: the suite says {episode.headline!r}")
    budget = _step_budget(episode)
    if record["steps"] > budget:
        raise SubmissionError(f"episodes[{index}].steps: {record['steps']} is more than the episode's {budget} steps")
    if record["completed"] > len(record["tasks"]) or (record["success"] and record["failure"]):
        raise SubmissionError(f"episodes[{index}]: success, completed and failure contradict each other")
    invalid = episode.instruction_category == "invalid"
    if not invalid and "subtasks" not in record and record["success"] != (record["completed"] == len(episode.tasks)):
        raise SubmissionError(f"episodes[{index}]: success says {record['success']}, completed {record['completed']}")
    if "progress" in record and "subtasks" not in record and not _measures_progress(episode.env_id):
        # progress the evaluator derives, not one the environment measures
        from gr_bench.evaluator import episode_progress

        expected_progress = episode_progress({k: v for k, v in record.items() if k != "progress"})
        if not math.isclose(record["progress"], expected_progress, abs_tol=FLOAT_TOLERANCE):
            raise SubmissionError(
                f"episodes[{index}].progress: {record['progress']}, but its outcome gives {expected_progress}"
            )


def _measures_progress(env_id: str) -> bool:
    from envs.family import family_named

    try:
        return family_named(env_id).measures_progress
    except ValueError:
        return False


def validate_submission(
    results: dict[str, Any],
    manifest: dict[str, Any] | None = None,
    secret: str | None = None,
    phrasings: dict[str, Any] | None = None,
) -> None:
    """Raise ``SubmissionError`` naming the first problem found, or return if the file is sound.

    With ``secret`` (and the ``phrasings`` bank it was run with, if any), the file must be a run of
    the hidden split that they draw.
    """
    import jsonschema

    from gr_bench.results import aggregate, validate
    from gr_bench.suites import ALL_TRACKS, get_suite

    non_finite = _first_non_finite(results, "results")
    if non_finite:
        raise SubmissionError(f"{non_finite}: not a finite number")
    try:
        validate(results)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise SubmissionError(f"schema: field {where}: {exc.message}") from exc
    if results["agent"].get("privileged_inputs"):
        raise SubmissionError(
            f"agent: it read the simulator's {', '.join(results['agent']['privileged_inputs'])} (a diagnostic "
            "control); a board ranks agents on what a robot could observe"
        )
    if results["agent"].get("privileged") and results["agent"]["name"] != "oracle":
        raise SubmissionError(
            f"agent: {results['agent']['name']} was handed the simulator (privileged); of those, the boards rank "
            "only the registered oracle, as their upper bound"
        )
    manifest = manifest or load_manifest()
    suite_info = results["suite"]
    name = suite_info["name"]
    if name not in manifest["suites"]:
        raise SubmissionError(f"suite.name: {name!r} is not a released suite ({', '.join(manifest['suites'])})")
    versions = released_versions(manifest, name)
    released = versions.get(suite_info["version"])
    if released is None:
        raise SubmissionError(
            f"suite.version: {name} v{suite_info['version']} was never released (versions {sorted(versions)})"
        )
    suite = get_suite(name, suite_info["version"])
    track = suite_info.get("track", ALL_TRACKS)  # files from before tracks ran the whole suite
    what = f"{name} v{suite.version}"
    if track != ALL_TRACKS:
        tracks = released.get("tracks", {})
        if track not in tracks:
            raise SubmissionError(
                f"suite.track: {track!r} is no released track of {what} (tracks: {', '.join([ALL_TRACKS, *tracks])})"
            )
        released = {"version": released["version"], **tracks[track]}
        suite = suite.select(track=track)
        what = f"track {track} of {what}"
    if secret is not None:
        suite = suite.with_secret(secret, phrasings).rescreened()
        released = {"version": released["version"], "hash": suite.hash, "episodes": len(suite.episodes)}

    ids = [r["episode_id"] for r in results["episodes"]]
    duplicated = sorted({i for i in ids if ids.count(i) > 1}) if len(ids) != len(set(ids)) else []
    if duplicated:
        raise SubmissionError(f"episodes: {len(duplicated)} episode(s) appear more than once, e.g. {duplicated[0]!r}")
    expected = {e.episode_id: e for e in suite.episodes}
    missing = [i for i in expected if i not in set(ids)]
    if missing:
        raise SubmissionError(
            f"episodes: {len(missing)} of the {len(expected)} episodes of {what} are missing, e.g. {missing[0]!r}; "
            f"a submission runs the whole suite or one whole track (gr-bench eval --suite {name} [--track ID], "
            f"tracks {', '.join(get_suite(name, suite.version).tracks)}) with no --episodes/--task/--axis/--category"
        )
    extra = sorted(set(ids) - set(expected))
    if extra:
        part = "the suite" if track == ALL_TRACKS else f"the suite's {track} track"
        raise SubmissionError(
            f"episodes: {len(extra)} episode(s) are not in {part} ({name} v{suite.version}), e.g. {extra[0]!r}"
        )
    for key in ("version", "hash", "episodes"):
        if suite_info[key] != released[key]:
            raise SubmissionError(
                f"suite.{key}: {suite_info[key]!r} does not match the released {what} ({released[key]!r}); "
                "submit a run of the whole released suite or of one whole track"
            )
    if suite.hash != released["hash"]:
        raise SubmissionError(f"this checkout builds {what} with hash {suite.hash}, not the released one: update it")
    for index, record in enumerate(results["episodes"]):
        _check_record(index, record, expected[record["episode_id"]], results["schema_version"])

    recomputed = aggregate(results["episodes"], results["schema_version"])
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


# --- filing submissions and building the boards ---------------------------------------------------
BOARD_DIR = MANIFEST_PATH.parent
SUBMISSIONS_DIR = BOARD_DIR / "submissions"
BUILT_DIR = BOARD_DIR / "boards"
# long-horizon ranks by the average chain length of CALVIN's ABC->D protocol, as the community
# ranks CALVIN (ABCD->D and both pooled are shown beside it); other suites by overall success rate
HEADLINE = {"long-horizon": "avg_len ABC-D"}


def _slug(text: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part)[:60] or "submission"


def add_submission(
    results: dict[str, Any], name: str, url: str = "", directory: Path = SUBMISSIONS_DIR, replace: bool = False
) -> Path:
    """Validate ``results`` and file it under ``directory/<suite>/v<version>/<name>.json``, or, a run of
    one track, under ``directory/<suite>/v<version>/<track>/<name>.json``."""
    _check_name_and_url(name, url)
    validate_submission(results)
    path = _submission_path(directory, results["suite"], name)
    if path.exists():
        filed = _filed_name(path)
        if filed != name:  # another submitter's name that files under the same slug: never theirs to replace
            raise SubmissionError(
                f"--name {name!r} files as {path.name}, which holds the submission of {filed!r}; choose another --name"
            )
        if not replace:
            raise SubmissionError(f"{path} exists: choose another --name, or pass --replace")
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"submission": {"name": name, "url": url, "verified_hidden_split": False}, "results": results}
    write_atomic(path, json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _check_name_and_url(name: str, url: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise SubmissionError("--name: a submission needs a name")
    if len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise SubmissionError(f"--name: at most {MAX_NAME_CHARS} printable characters, got {name[:MAX_NAME_CHARS]!r}")
    if not isinstance(url, str) or (url and (not url.startswith(("https://", "http://")) or not url.isprintable())):
        raise SubmissionError(f"--url: {url!r} is not an http(s) address")


def _filed_name(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["submission"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def verify_submission(
    hidden_results: dict[str, Any],
    name: str,
    secret: str,
    directory: Path = SUBMISSIONS_DIR,
    phrasings: dict[str, Any] | None = None,
) -> Path:
    """Mark the filed submission ``name`` verified by a maintainers' re-run on the hidden split."""
    if not secret:
        raise SubmissionError("--secret-file: verifying needs the hidden split's secret")
    validate_submission(hidden_results, secret=secret, phrasings=phrasings)
    path = _submission_path(directory, hidden_results["suite"], name)
    if not path.exists() or _filed_name(path) != name:
        raise SubmissionError(f"no submission {name!r} for suite {hidden_results['suite']['name']!r} ({path})")
    record = json.loads(path.read_text(encoding="utf-8"))
    if _same_agent(record["results"]["agent"]) != _same_agent(hidden_results["agent"]):
        raise SubmissionError("agent: the hidden run used a different agent or config than the submission")
    record["submission"]["verified_hidden_split"] = True
    record["submission"]["hidden_success"] = hidden_results["aggregates"]["overall"]["rate"]
    write_atomic(path, json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _same_agent(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent record as compared between a filing and its hidden re-run: ``privileged`` is derived
    from the agent's class, and filings from before it was recorded lack it."""
    return {k: v for k, v in agent.items() if k != "privileged"}


def public_vs_hidden(path: Path, hidden_results: dict[str, Any]) -> str:
    """The filed (public) run beside its hidden-split re-run: overall, per axis and per instruction
    category, with 95% intervals; a large drop says the public episodes were tuned on."""
    public = json.loads(Path(path).read_text(encoding="utf-8"))["results"]["aggregates"]
    hidden = hidden_results["aggregates"]

    def cell(stats: dict[str, Any] | None) -> str:
        if not stats:
            return "-"
        low, high = stats["ci95"]
        return f"{stats['rate']:.1%} [{low:.0%}, {high:.0%}] n={stats['n']}"

    lines = [
        f"{'':30s} {'public':>26s} {'hidden':>26s}",
        f"{'overall':30s} {cell(public['overall']):>26s} {cell(hidden['overall']):>26s}",
    ]
    for section, label in (("per_axis", "axis"), ("per_category", "instruction")):
        keys = list(dict.fromkeys([*public.get(section, {}), *hidden.get(section, {})]))
        if len(keys) < 2:
            continue
        for key in keys:
            mine, theirs = public.get(section, {}).get(key), hidden.get(section, {}).get(key)
            lines.append(f"{label + ': ' + key:30s} {cell(mine):>26s} {cell(theirs):>26s}")
    return "\n".join(lines)


def _submission_path(directory: Path, suite: dict[str, Any], name: str) -> Path:
    folder = Path(directory) / suite["name"] / f"v{suite['version']}"
    track = suite.get("track", "all")
    return (folder if track == "all" else folder / track) / f"{_slug(name)}.json"


def _filed_submissions(
    folder: Path, memo: dict[Path, tuple] | None = None
) -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(path, submission, results) of every filed submission directly in ``folder``, each validated;
    a bad one is named with its path. ``memo``: files already read and validated (path -> entry),
    kept by a caller that reads the same folders again while nothing is filed (one build)."""
    filed = []
    for path in sorted(Path(folder).glob("*.json")):
        key = path.resolve()
        if memo is not None and key in memo:
            filed.append(memo[key])
            continue
        record = read_submission(path)
        try:
            _check_name_and_url(record["submission"]["name"], record["submission"]["url"])
            results = record["results"]
        except (KeyError, TypeError) as exc:
            raise SubmissionError(f"{path}: not a filed submission (submission.name, .url and results)") from exc
        except SubmissionError as exc:
            raise SubmissionError(f"{path}: {exc}") from exc
        try:
            validate_submission(results)
        except SubmissionError as exc:
            raise SubmissionError(f"{path}: {exc}") from exc
        filed.append((path, record["submission"], results))
        if memo is not None:
            memo[key] = filed[-1]
    return filed


def board_rows(
    suite: str,
    directory: Path = SUBMISSIONS_DIR,
    version: int | None = None,
    track: str = "all",
    memo: dict[Path, tuple] | None = None,
) -> list[dict[str, Any]]:
    """One row per valid submission of ``suite`` at ``version`` (default: the current one), best first.

    ``track`` "all": the runs of the whole suite. A track id: that track's runs (``submitted``
    "this track") and every run of the whole suite with the numbers of its records of the track's
    episodes (``submitted`` "whole suite"). ``memo``: as ``_filed_submissions``' (a build passes one
    to all its boards, so that each file is read and validated once, not once per board)."""
    if version is None:
        version = load_manifest()["suites"][suite]["version"]
    folder = Path(directory) / suite / f"v{version}"
    rows = []
    if track == "all":
        for _, submission, results in _filed_submissions(folder, memo):
            rows.append(_board_row(submission, results, results["aggregates"]))
    else:
        from gr_bench.results import aggregate
        from gr_bench.suites import get_suite

        ids = {e.episode_id for e in get_suite(suite, version).select(track=track).episodes}
        later: set[str] = set()  # names with a row from a later version
        # this version's runs, then those of earlier versions whose track had the very same episodes
        for earlier in (version, *unchanged_track_versions(suite, version, track)):
            mark = "" if earlier == version else f" (v{earlier})"
            here = Path(directory) / suite / f"v{earlier}"
            names = set()
            for kind, filed in (
                ("this track", _filed_submissions(here / track, memo)),
                ("whole suite", _filed_submissions(here, memo)),
            ):
                for _, submission, results in filed:
                    if submission["name"] in later:
                        continue  # filed again on a later version: that run is the row
                    names.add(submission["name"])
                    if kind == "this track":
                        agg = results["aggregates"]
                    else:
                        records = [r for r in results["episodes"] if r["episode_id"] in ids]
                        agg = aggregate(records, results["schema_version"])
                    rows.append(_board_row(submission, results, agg, kind + mark))
            later |= names
    # a track without chains ranks by success; a run without the ABC->D protocol by all its chains
    wanted = [HEADLINE.get(suite, "success"), "avg_len", "success"]
    key = next(k for k in wanted if all(k in row for row in rows))
    return sorted(rows, key=lambda r: (-r[key], r["name"]))


def unchanged_track_versions(suite: str, version: int, track: str) -> list[int]:
    """Released versions of ``suite`` before ``version``, newest first, whose ``track`` has exactly
    the episodes it has at ``version`` (a version that added another family's track leaves this
    one's alone): their runs of the track count on its board at ``version`` too. Stops at the first
    version where the track differs."""
    from gr_bench.suites import get_suite

    episodes = [e.to_json() for e in get_suite(suite, version).select(track=track).episodes]
    same = []
    for earlier in sorted(released_versions(load_manifest(), suite), reverse=True):
        if earlier >= version:
            continue
        theirs = get_suite(suite, earlier)
        if track not in theirs.tracks or [e.to_json() for e in theirs.select(track=track).episodes] != episodes:
            break
        same.append(earlier)
    return same


def _board_row(
    submission: dict[str, Any], results: dict[str, Any], agg: dict[str, Any], submitted: str | None = None
) -> dict[str, Any]:
    """A board's row: the submission and the numbers of ``agg`` (its aggregates, or those of its
    records of one track); ``submitted`` (track boards) says whether it ran the track or the suite."""
    row: dict[str, Any] = {"name": submission["name"], "url": submission["url"], "agent": results["agent"]["name"]}
    if submitted is not None:
        row["submitted"] = submitted
    row |= {
        "success": agg["overall"]["rate"],
        "ci95_low": agg["overall"]["ci95"][0],
        "ci95_high": agg["overall"]["ci95"][1],
        "episodes": agg["overall"]["n"],
    }
    if "chains" in agg:  # per protocol (ABC->D first: the headline), then pooled
        for axis, chains in agg.get("chains_per_axis", {}).items():
            row[f"avg_len {axis.removeprefix('long_horizon_')}"] = chains["avg_len"]
        row["avg_len"] = agg["chains"]["avg_len"]
    per_env = agg.get("per_env", {})
    if len(per_env) > 1:  # suites of several environments: each one's success and mean progress
        for env_id, stats in per_env.items():
            short = env_id.removeprefix("GRBench/")
            row[f"{short}: success"] = stats["overall"]["rate"]
            row[f"{short}: progress"] = stats["mean_progress"]
    for section, prefix in (("per_axis", "axis"), ("per_category", "instruction")):
        if len(agg[section]) > 1:
            row.update({f"{prefix}: {key}": rate["rate"] for key, rate in agg[section].items()})
    hidden = submission.get("hidden_success")
    row["verified"] = f"yes ({hidden:.3f} hidden)" if submission["verified_hidden_split"] else ""
    row["git"] = (results["git_revision"] or "")[:10]
    return row


def board_stem(suite: str, version: int, track: str = "all", current: bool = True) -> str:
    """A board's file name without extension: ``seen``, ``seen-TRACK``, ``seen-v1``, ``seen-v1-TRACK``."""
    stem = suite if current else f"{suite}-v{version}"
    return stem if track == "all" else f"{stem}-{track}"


def build_boards(directory: Path = SUBMISSIONS_DIR, out: Path = BUILT_DIR) -> list[Path]:
    """Regenerate every board as Markdown, CSV (pandas) and one static HTML page that links them all.

    Per released (suite, version): the ``all`` board, and a board per track where the version has
    several tracks or the track has runs of its own. The CI suite and older versions get a board
    only when it has rows."""
    import html

    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, sections, older, links = [], [], [], []
    memo: dict[Path, tuple] = {}  # each submission read and validated once for all its boards
    manifest = load_manifest()
    for suite, info in manifest["suites"].items():
        for version, released in sorted(released_versions(manifest, suite).items(), reverse=True):
            current = version == info["version"]
            tracks = released.get("tracks", {})
            boards = [("all", released)] + [
                (track, entry)
                for track, entry in tracks.items()
                if len(tracks) > 1 or (Path(directory) / suite / f"v{version}" / track).is_dir()
            ]
            for track, entry in boards:
                rows = board_rows(suite, directory, version, track, memo)
                own = any(r["submitted"].startswith("this track") for r in rows) if track != "all" else True
                if len(tracks) == 1 and not own:
                    continue  # one track, no run of its own: the all board says it all
                if (suite == "smoke" or not current) and not rows:
                    continue  # the CI suite and older versions get a board only when they have rows
                frame = pd.DataFrame(rows)
                if track == "all":
                    title = f"{suite} v{version} (suite hash {entry['hash'][:12]})"
                else:
                    title = f"{suite} v{version}, track {track} (track hash {entry['hash'][:12]})"
                stem = board_stem(suite, version, track, current)
                csv_path, md_path = out / f"{stem}.csv", out / f"{stem}.md"
                _csv_safe(frame).to_csv(csv_path, index=False, float_format="%.4f")
                markdown = f"# {title}\n\n"
                if track != "all":
                    markdown += (
                        f"Runs of the {track} track, and runs of the whole suite (submitted: whole suite) "
                        "with the numbers of their episodes of this track.\n\n"
                    )
                md_path.write_text(markdown + _markdown_table(frame) + "\n", encoding="utf-8")
                written += [csv_path, md_path]
                anchor = html.escape(f"board-{stem}", quote=True)
                (sections if current else older).append(
                    f"<h2 id='{anchor}'>{html.escape(title)}</h2>" + _html_table(frame, stem)
                )
                links.append(
                    f"<li><a href='#{anchor}'>{html.escape(title)}</a> "
                    f"(<a href='{html.escape(md_path.name, quote=True)}'>Markdown</a>, "
                    f"<a href='{html.escape(csv_path.name, quote=True)}'>CSV</a>)</li>"
                )
    if older:
        sections.append(
            "<details><summary>Earlier suite versions (their runs stay valid for their version)</summary>"
            + "\n".join(older)
            + "</details>"
        )
    nav = "<nav><ul>" + "\n".join(links) + "</ul></nav>"
    page = out / "index.html"
    page.write_text(_HTML_PAGE.replace("{{BODY}}", nav + "\n" + "\n".join(sections)), encoding="utf-8")
    return [*written, page]


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell that starts so


def _csv_safe(frame):
    """A copy of ``frame`` whose text cells cannot be read as spreadsheet formulas (OWASP: a leading
    apostrophe makes them text)."""

    def safe(value):
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value

    return frame.map(safe) if not frame.empty else frame


def _markdown_text(value: Any) -> str:
    """A cell's text for a Markdown table, on one line: HTML escaped (no raw tags), and the column
    bar, links and code marks taken literally."""
    import html

    text = html.escape(" ".join(_fmt(value).split()), quote=False)
    return "".join(f"\\{c}" if c in "\\`[]|" else c for c in text)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _markdown_table(frame) -> str:
    if frame.empty:
        return "No submissions yet."
    header = "| rank | " + " | ".join(_markdown_text(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * (len(frame.columns) + 1)
    lines = [header, rule]
    for rank, (_, row) in enumerate(frame.iterrows(), start=1):
        cells = [_markdown_text(v) for v in row]
        lines.append(f"| {rank} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _html_table(frame, suite: str) -> str:
    import html

    if frame.empty:
        return "<p>No submissions yet.</p>"
    head = "".join(f"<th onclick='sortBy(this)'>{html.escape(str(c))}</th>" for c in ["rank", *frame.columns])
    body = []
    for rank, (_, row) in enumerate(frame.iterrows(), start=1):
        cells = [f"<td>{rank}</td>"]
        for column, value in row.items():
            text = html.escape(_fmt(value))
            if column == "name" and row["url"]:
                text = f"<a href='{html.escape(row['url'], quote=True)}' rel='nofollow'>{text}</a>"
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table id='{html.escape(suite)}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_HTML_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>gr-bench leaderboards</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{cursor:pointer;background:#eee}</style>
<script>
function sortBy(th) {
  const table = th.closest("table"), index = [...th.parentNode.children].indexOf(th);
  const rows = [...table.tBodies[0].rows], asc = th.dataset.asc !== "1";
  const value = r => { const t = r.cells[index].innerText; const n = parseFloat(t); return isNaN(n) ? t : n; };
  rows.sort((a, b) => (value(a) > value(b) ? 1 : value(a) < value(b) ? -1 : 0) * (asc ? 1 : -1));
  rows.forEach(r => table.tBodies[0].appendChild(r));
  th.dataset.asc = asc ? "1" : "0";
}
</script></head><body><h1>gr-bench leaderboards</h1>
<p>Generated by <code>gr-bench leaderboard build</code> from validated submissions; click a column to sort.</p>
{{BODY}}
</body></html>
"""
