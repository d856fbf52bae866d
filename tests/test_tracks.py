"""Tracks (issue 15 item 4): a released suite is the union of its families' tracks; a results file
and a board are per track, with the `all` board for runs of the whole suite.

Released tracks keep their episodes and hashes (pinned by leaderboards/manifest.json); a run of one
whole track validates and lands on that track's board only; a partial track or a subsample is
refused with one line saying what is missing; every filed submission still validates where it is."""

import copy
import hashlib
import json
from pathlib import Path

import pytest

from gr_bench.leaderboard import (
    SUBMISSIONS_DIR,
    SubmissionError,
    _submission_path,
    add_submission,
    board_rows,
    build_boards,
    load_manifest,
    read_submission,
    released_versions,
    validate_submission,
)
from gr_bench.results import build_results
from gr_bench.suites import ALL_TRACKS, get_suite

MANIFEST = load_manifest()
RELEASED = [
    (name, version, info)
    for name in MANIFEST["suites"]
    for version, info in sorted(released_versions(MANIFEST, name).items())
]
REFERENCE = SUBMISSIONS_DIR / "seen" / "v2" / "oracle-gr-bench-reference.json"


def _canonical_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@pytest.mark.parametrize(("name", "version", "info"), RELEASED, ids=[f"{n}-v{v}" for n, v, _ in RELEASED])
def test_released_tracks_keep_their_episodes_and_hashes(name, version, info):
    suite = get_suite(name, version)
    assert set(info["tracks"]) == set(suite.tracks) and ALL_TRACKS not in info["tracks"]
    union = []
    for track, released in info["tracks"].items():
        part = suite.select(track=track)
        # the definition: sha256 of the canonical JSON of suite name, version, track id and its episodes
        payload = {"name": name, "version": version, "track": track, "episodes": [e.to_json() for e in part.episodes]}
        assert part.hash == suite.track_hash(track) == _canonical_hash(payload) == released["hash"], (
            f"{name} v{version} track {track} moved: a released track is frozen"
        )
        assert len(part.episodes) == released["episodes"] and part.track == track
        union += part.episodes
    # the suite is the union of its tracks, in order, and its own hash is what it always was
    assert tuple(union) == suite.episodes and suite.track == ALL_TRACKS
    assert suite.hash == info["hash"] == suite.track_hash(ALL_TRACKS) == suite.select(track=ALL_TRACKS).hash
    assert suite.hash == _canonical_hash({"name": name, "version": version, "episodes": [e.to_json() for e in union]})


def test_a_track_view_keeps_its_track():
    tidy = get_suite("seen").select(track="tidy")
    assert tidy.with_secret("s").track == "tidy" and tidy.select(episodes=3).track == "tidy"
    # --env picks the same episodes but is a plain selection: it is not a track submission
    same = get_suite("seen").select(env=tidy.episodes[0].env_id)
    assert same.episodes == tidy.episodes and same.track == ALL_TRACKS and same.hash != tidy.hash


def _reference():
    return read_submission(REFERENCE)


def _track_results(track: str, drop: int = 0, episodes: int | None = None) -> dict:
    """A results file of one track of seen v2, made of the reference oracle run's records."""
    reference = _reference()
    suite = get_suite("seen", 2).select(track=track, episodes=episodes)
    ids = {e.episode_id for e in suite.episodes}
    records = [r for r in reference["results"]["episodes"] if r["episode_id"] in ids]
    return build_results(suite, "oracle", {}, records[drop:], workers=1)


def test_a_whole_track_validates_and_lands_on_its_board_only(tmp_path):
    results = _track_results("tidy")
    assert results["suite"]["track"] == "tidy" and results["suite"]["episodes"] == 16
    assert results["suite"]["hash"] == released_versions(MANIFEST, "seen")[2]["tracks"]["tidy"]["hash"]
    validate_submission(results)

    submissions = tmp_path / "submissions"
    path = add_submission(results, "tidy specialist", directory=submissions)
    assert path == submissions / "seen" / "v2" / "tidy" / "tidy-specialist.json"
    whole = _reference()
    add_submission(whole["results"], "generalist", directory=submissions)  # a run of the whole suite

    # seen v2 is no longer the current version: its boards are named for it
    assert [r["name"] for r in board_rows("seen", submissions, version=2)] == ["generalist"]
    tidy = {r["name"]: r for r in board_rows("seen", submissions, version=2, track="tidy")}
    assert set(tidy) == {"tidy specialist", "generalist"}
    assert tidy["tidy specialist"]["submitted"] == "this track" and tidy["generalist"]["submitted"] == "whole suite"
    # the whole-suite run shows its numbers on the track's episodes: here the same records as the track run
    for key in ("success", "ci95_low", "ci95_high", "episodes"):
        assert tidy["generalist"][key] == tidy["tidy specialist"][key]
    assert tidy["generalist"]["episodes"] == 16
    tabletop = board_rows("seen", submissions, version=2, track="tabletop")
    assert [(r["name"], r["submitted"], r["episodes"]) for r in tabletop] == [("generalist", "whole suite", 204)]

    boards = tmp_path / "boards"
    build_boards(submissions, boards)
    assert "tidy specialist" in (boards / "seen-v2-tidy.md").read_text()
    assert "tidy specialist" in (boards / "seen-v2-tidy.csv").read_text()
    for other in ("seen-v2.md", "seen-v2.csv", "seen-v2-tabletop.md", "seen-v2-tabletop.csv"):
        assert "tidy specialist" not in (boards / other).read_text() and "generalist" in (boards / other).read_text()
    page = (boards / "index.html").read_text()
    for stem in ("seen", "seen-tidy", "seen-tabletop", "unseen-tidy", "long-horizon-tabletop"):
        assert f"href='{stem}.md'" in page and f"href='{stem}.csv'" in page and f"id='board-{stem}'" in page


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: _track_results("tidy", drop=1), "1 of the 16 episodes of track tidy of seen v2 are missing"),
        (lambda: _track_results("tidy", episodes=4), "12 of the 16 episodes of track tidy of seen v2 are missing"),
        (
            lambda: build_results(
                get_suite("seen", 2).select(env="GRBench/Tidy-v0"),
                "oracle",
                {},
                _track_results("tidy")["episodes"],
                workers=1,
            ),
            "204 of the 220 episodes of seen v2 are missing",
        ),
    ],
    ids=["one-dropped", "subsample", "env-not-track"],
)
def test_a_partial_track_is_refused_with_one_line(make, says):
    with pytest.raises(SubmissionError) as refused:
        validate_submission(make())
    message = str(refused.value)
    assert says in message and "--track" in message and "\n" not in message


def test_a_track_run_that_claims_another_track_or_none_is_refused():
    results = _track_results("tidy")
    unknown = copy.deepcopy(results)
    unknown["suite"]["track"] = "cloth"
    with pytest.raises(SubmissionError, match="suite.track: 'cloth' is no released track of seen v2"):
        validate_submission(unknown)
    relabelled = copy.deepcopy(results)
    relabelled["suite"]["track"] = "tabletop"
    with pytest.raises(SubmissionError, match="missing"):
        validate_submission(relabelled)
    hash_of_all = copy.deepcopy(results)
    hash_of_all["suite"]["hash"] = get_suite("seen", 2).select(env="GRBench/Tidy-v0").hash  # the --env view's
    with pytest.raises(SubmissionError, match="suite.hash"):
        validate_submission(hash_of_all)


SUBMITTED = sorted(SUBMISSIONS_DIR.rglob("*.json"))


@pytest.mark.parametrize("path", SUBMITTED, ids=[str(p.relative_to(SUBMISSIONS_DIR)) for p in SUBMITTED])
def test_every_filed_submission_still_validates_where_it_is(path):
    record = read_submission(path)
    validate_submission(record["results"])
    track = record["results"]["suite"].get("track", ALL_TRACKS)  # absent in files from before tracks
    # a whole suite files under <suite>/v<N>/, one track under <suite>/v<N>/<track>/
    assert (track == ALL_TRACKS) == path.parent.name.startswith("v")
    assert _submission_path(SUBMISSIONS_DIR, record["results"]["suite"], record["submission"]["name"]) == path


def test_eval_track_writes_the_track_and_files_it(tmp_path, capsys):
    """`gr-bench eval --track` on the CI suite (its one track), then validate, add and build."""
    from gr_bench.cli import main

    out = tmp_path / "run"
    assert main(["eval", "--agent", "oracle", "--suite", "smoke", "--track", "tabletop", "--out", str(out)]) == 0
    assert "suite smoke v1, track tabletop" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    released = MANIFEST["suites"]["smoke"]["tracks"]["tabletop"]
    assert results["suite"]["track"] == "tabletop" and results["suite"]["hash"] == released["hash"]
    assert results["suite"]["hash"] != MANIFEST["suites"]["smoke"]["hash"]
    assert "Track hash" in (out / "report.md").read_text()
    submissions, boards = tmp_path / "submissions", tmp_path / "boards"
    assert main(["leaderboard", "validate", str(out / "results.json")]) == 0
    args = ["leaderboard", "add", str(out / "results.json"), "--name", "expert", "--submissions", str(submissions)]
    assert main(args) == 0
    assert (submissions / "smoke" / "v1" / "tabletop" / "expert.json").is_file()
    assert main(["leaderboard", "build", "--submissions", str(submissions), "--boards", str(boards)]) == 0
    # a one-track suite gets a track board only for runs of its own; the all board does not show them
    assert "expert" in (boards / "smoke-tabletop.md").read_text() and not (boards / "smoke.md").exists()
    # --reuse finds a track run's episodes by its hash
    from gr_bench.evaluator.reuse import earlier_episodes

    version, episodes = earlier_episodes("smoke", results["suite"]["hash"])
    assert version == 1 and [e.episode_id for e in episodes] == [r["episode_id"] for r in results["episodes"]]


def test_all_is_no_family_id():
    import dataclasses

    from envs.family import register_family
    from envs.tabletop.family import TABLETOP

    with pytest.raises(ValueError, match="'all'"):
        register_family(dataclasses.replace(TABLETOP, id="all", env_id="GRBench/All-v0"))


def test_results_schema_takes_the_track_and_old_files_mean_all():
    from gr_bench.results import validate

    results = _track_results("tidy")
    validate(results)
    old = copy.deepcopy(_reference()["results"])
    assert "track" not in old["suite"]
    validate(old)
    validate_submission(old)  # without `track`: a run of the whole suite
    old["suite"]["track"] = ALL_TRACKS
    validate_submission(old)
    assert Path(REFERENCE).is_file()


def test_a_track_unchanged_by_a_new_version_keeps_its_runs_on_the_new_board(tmp_path):
    """Suites v4 added the cloth track and left tabletop's and tidy's episodes as they were in v3:
    v3's runs of those tracks count on v4's track boards (marked with their version); a track that
    changed (v2 -> v3: rules 3) does not carry over."""
    from gr_bench.leaderboard import unchanged_track_versions

    assert unchanged_track_versions("seen", 4, "tidy") == [3]
    assert unchanged_track_versions("seen", 3, "tidy") == []  # v3 rescored v2's episodes
    assert unchanged_track_versions("seen", 4, "cloth") == []  # new in v4
    submissions = tmp_path / "submissions"
    v3 = read_submission(SUBMISSIONS_DIR / "seen" / "v3" / "oracle-gr-bench-reference.json")
    add_submission(v3["results"], "old generalist", directory=submissions)
    tidy = {r["name"]: r for r in board_rows("seen", submissions, version=4, track="tidy")}
    assert tidy["old generalist"]["submitted"] == "whole suite (v3)" and tidy["old generalist"]["episodes"] == 16
    assert board_rows("seen", submissions, version=4, track="cloth") == []
    assert board_rows("seen", submissions, version=4) == []  # the whole v4 suite has cloth episodes it never ran
    # the same name filed on v4 replaces its v3 row
    v4_records = [
        r
        for r in v3["results"]["episodes"]
        if r["episode_id"] in {e.episode_id for e in get_suite("seen", 4).select(track="tidy").episodes}
    ]
    v4 = build_results(get_suite("seen", 4).select(track="tidy"), "oracle", {}, v4_records, workers=1)
    add_submission(v4, "old generalist", directory=submissions)
    rows = board_rows("seen", submissions, version=4, track="tidy")
    assert [(r["name"], r["submitted"]) for r in rows] == [("old generalist", "this track")]
