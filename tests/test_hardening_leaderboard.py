"""Regression corpus (issue 14): leaderboard validation checks every per-episode field against the
released suite, refuses non-finite and absurd numbers, names cannot collide, boards escape."""

import copy
import json

import pytest

from gr_bench import leaderboard
from gr_bench.evaluator import evaluate
from gr_bench.leaderboard import SubmissionError, add_submission, build_boards, read_submission, validate_submission
from gr_bench.suites import get_suite


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    evaluate(get_suite("smoke"), "random", out, progress=False)
    return read_submission(out / "results.json")


def _tampered(results, edit):
    tampered = copy.deepcopy(results)
    edit(tampered)
    return tampered


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["episodes"][0].update(axis="forged-axis"), "episodes[0].axis"),
        (lambda r: r["episodes"][0].update(instruction_category="invalid"), "episodes[0].instruction_category"),
        (lambda r: r["episodes"][0].update(env_id="GRBench/Tidy-v0"), "episodes[0].env_id"),
        (lambda r: r["episodes"][0].update(instructions=["do anything"]), "episodes[0].instructions"),
        (lambda r: r["episodes"][0].update(variations={"lighting": "dark"}), "episodes[0].variations"),
        (lambda r: r["episodes"][0].pop("env_id"), "env_id"),
        (lambda r: r["episodes"][0].update(steps=10**30), "episodes[0].steps"),
        (lambda r: r["episodes"][0].update(steps=361), "episodes[0].steps"),
        (lambda r: r["episodes"][0].update(seconds=float("inf")), "episodes[0].seconds"),
        (lambda r: r["aggregates"].update(mean_progress=float("nan")), "aggregates.mean_progress"),
        (lambda r: r["episodes"][0].update(progress=0.9), "episodes[0].progress"),
        (lambda r: r["episodes"][0].update(success=True), "episodes[0]: success says True, completed 0"),
        (lambda r: r["episodes"][0].update(headline=False), "episodes[0].headline"),
    ],
    ids=[
        *("axis", "category", "env", "instruction", "variations", "env-missing", "huge-steps", "steps", "inf"),
        *("nan", "progress", "success", "headline"),
    ],
)
def test_every_episode_field_and_number_is_checked(smoke_results, edit, message):
    with pytest.raises(SubmissionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_submission(_tampered(smoke_results, edit))


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_non_finite_json_is_refused_when_read(tmp_path, smoke_results, constant):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(smoke_results).replace('"seconds": ', f'"seconds": {constant}, "x": ', 1))
    with pytest.raises(SubmissionError, match=constant):
        read_submission(path)


def test_size_limit_is_sane():
    assert 2 * 1024 * 1024 < leaderboard.MAX_SUBMISSION_BYTES <= 16 * 1024 * 1024


def test_replace_never_overwrites_another_submitters_entry(tmp_path, smoke_results):
    submissions = tmp_path / "submissions"
    mine = add_submission(smoke_results, "My Policy", directory=submissions)
    for other in ("my-policy", "MY POLICY!", "my policy"):
        with pytest.raises(SubmissionError, match="holds the submission of 'My Policy'"):
            add_submission(smoke_results, other, directory=submissions, replace=True)
    assert json.loads(mine.read_text())["submission"]["name"] == "My Policy"
    add_submission(smoke_results, "My Policy", directory=submissions, replace=True)  # the owner may


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "two\nlines"])
def test_bad_names_are_refused(tmp_path, smoke_results, name):
    with pytest.raises(SubmissionError, match="--name"):
        add_submission(smoke_results, name, directory=tmp_path)


def test_boards_escape_what_they_show(tmp_path, smoke_results):
    import csv

    submissions, boards = tmp_path / "submissions", tmp_path / "boards"
    names = ["<script>alert(1)</script>", '=HYPERLINK("http://x","y")', "+1", "@SUM(A1)", "[x](javascript:y) |"]
    for name in names:
        add_submission(smoke_results, name, directory=submissions)
    build_boards(submissions, boards)
    markdown = (boards / "smoke.md").read_text()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "[x](javascript" not in markdown and "\\|" in markdown
    with open(boards / "smoke.csv", newline="") as f:
        cells = {row["name"] for row in csv.DictReader(f)}
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert '\'=HYPERLINK("http://x","y")' in cells
    assert "<script>alert" not in (boards / "index.html").read_text()


def test_hand_edited_submission_file_is_named(tmp_path, smoke_results):
    submissions = tmp_path / "submissions"
    path = add_submission(smoke_results, "fine", directory=submissions)
    record = json.loads(path.read_text())
    record["results"]["episodes"][0]["axis"] = "forged"
    path.write_text(json.dumps(record))
    with pytest.raises(SubmissionError, match=f"{path.name}.*episodes\\[0\\].axis"):
        build_boards(submissions, tmp_path / "boards")


def test_an_outside_agent_handed_the_simulator_is_kept_off_the_boards(tmp_path):
    """A module:Class agent that declares ``privileged`` reads the simulator: its results say so
    and no board takes them (only the registered oracle, their upper bound)."""
    results = evaluate(get_suite("smoke").select(episodes=1), "eval_agents:EagerOracle", tmp_path, progress=False)
    assert results["agent"]["privileged"] is True
    with pytest.raises(SubmissionError, match="handed the simulator"):
        validate_submission(results)
    oracle = evaluate(get_suite("smoke").select(episodes=1), "oracle", tmp_path / "oracle", progress=False)
    assert oracle["agent"]["privileged"] is True  # the oracle says so too, and is not refused for it
    with pytest.raises(SubmissionError) as refused:
        validate_submission(oracle)
    assert "handed the simulator" not in str(refused.value)  # smoke is not released: refused for that only
