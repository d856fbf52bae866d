"""Submissions: a sound results file passes; every kind of tampering is rejected with its own
message naming the field; the released manifest matches the suites this checkout builds."""

import copy
import json

import pytest

from gr_bench import leaderboard
from gr_bench.evaluator import evaluate
from gr_bench.leaderboard import SubmissionError, build_manifest, load_manifest, read_submission, validate_submission
from gr_bench.suites import get_suite


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    evaluate(get_suite("smoke"), "oracle", out, progress=False)
    return read_submission(out / "results.json")


def test_released_manifest_matches_the_suites():
    # a released suite never changes: a change needs a new version and `gr-bench leaderboard manifest`
    assert load_manifest() == build_manifest()


def test_sound_submission_passes(smoke_results):
    validate_submission(smoke_results)


def _tampered(results, edit):
    tampered = copy.deepcopy(results)
    edit(tampered)
    return tampered


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["aggregates"]["overall"].update(rate=0.75), "aggregates.overall.rate"),
        (lambda r: r["aggregates"]["per_task"]["open_drawer"].update(successes=0), "aggregates.per_task.open_drawer"),
        (lambda r: r["episodes"][1].update(success=False), "episodes[1]: success says False"),
        (lambda r: r["episodes"].pop(2), "missing"),
        (lambda r: r["episodes"].append(copy.deepcopy(r["episodes"][0])), "more than once"),
        (lambda r: r["episodes"].append({**r["episodes"][0], "episode_id": "smoke/none/x/0"}), "not in the suite"),
        (lambda r: r["suite"].update(hash="0" * 64), "suite.hash"),
        (lambda r: r["suite"].update(name="hard-mode"), "suite.name"),
        (lambda r: r["episodes"][0].update(seed=r["episodes"][0]["seed"] + 1), "episodes[0].seed"),
        (lambda r: r["aggregates"]["overall"].update(rate=1.5), "schema: field aggregates/overall/rate"),
        (lambda r: r.pop("episodes"), "schema"),
    ],
    ids=[
        "aggregate",
        "task-aggregate",
        "episode-edited",
        "episode-removed",
        "episode-duplicated",
        "episode-extra",
        "suite-hash",
        "suite-name",
        "seed",
        "out-of-range",
        "no-episodes",
    ],
)
def test_tampering_is_rejected(smoke_results, edit, message):
    with pytest.raises(SubmissionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_submission(_tampered(smoke_results, edit))


def test_oversize_and_malformed_files_are_refused(tmp_path, monkeypatch):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SubmissionError, match="not a JSON results file"):
        read_submission(bad)
    bad.write_text("[1, 2, 3]")
    with pytest.raises(SubmissionError, match="JSON object"):
        read_submission(bad)
    monkeypatch.setattr(leaderboard, "MAX_SUBMISSION_BYTES", 4)
    with pytest.raises(SubmissionError, match="byte limit"):
        read_submission(bad)
    with pytest.raises(SubmissionError, match="no such file"):
        read_submission(tmp_path / "absent.json")


def test_cli_validate(tmp_path, smoke_results, capsys):
    from gr_bench.cli import main

    good = tmp_path / "good.json"
    good.write_text(json.dumps(smoke_results))
    assert main(["leaderboard", "validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    tampered = _tampered(smoke_results, lambda r: r["aggregates"]["overall"].update(rate=0.5))
    good.write_text(json.dumps(tampered))
    assert main(["leaderboard", "validate", str(good)]) == 2
    assert "aggregates.overall.rate" in capsys.readouterr().err


def test_add_and_build_boards(tmp_path, smoke_results):
    import pandas as pd

    from gr_bench.leaderboard import add_submission, build_boards

    submissions, boards = tmp_path / "submissions", tmp_path / "boards"
    random_out = tmp_path / "random"
    random_results = evaluate(get_suite("smoke"), "random", random_out, progress=False)
    name = "<script>alert(1)</script> & friends"
    add_submission(random_results, name, "https://example.org/?a=1&b=2", directory=submissions)
    add_submission(smoke_results, "scripted expert", directory=submissions)
    with pytest.raises(SubmissionError, match="exists"):
        add_submission(smoke_results, "scripted expert", directory=submissions)
    with pytest.raises(SubmissionError, match="--url"):
        add_submission(smoke_results, "x", "javascript:alert(1)", directory=submissions)
    tampered = _tampered(smoke_results, lambda r: r["aggregates"]["overall"].update(rate=0.5))
    with pytest.raises(SubmissionError, match="aggregates"):
        add_submission(tampered, "cheater", directory=submissions)

    build_boards(submissions, boards)
    board = pd.read_csv(boards / "smoke.csv")
    assert list(board["name"]) == ["scripted expert", name]  # ranked by success
    assert board["success"].iloc[0] == 1.0
    page = (boards / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "sortBy" in page and (boards / "seen.md").read_text().endswith("No submissions yet.\n")
    # building twice gives the same files: boards are a pure function of the submissions
    first = {p.name: p.read_text() for p in boards.iterdir()}
    build_boards(submissions, boards)
    assert first == {p.name: p.read_text() for p in boards.iterdir()}


def test_checked_in_boards_are_up_to_date(tmp_path):
    from gr_bench.leaderboard import BUILT_DIR, build_boards

    for path in build_boards(out=tmp_path):
        committed = BUILT_DIR / path.name
        assert committed.exists() and committed.read_text() == path.read_text(), (
            f"{committed} is stale: run `gr-bench leaderboard build` and commit the result"
        )


def test_hidden_split(tmp_path, smoke_results):
    from gr_bench.leaderboard import add_submission, board_rows, verify_submission

    public = get_suite("smoke")
    hidden = public.with_secret("s3cret")
    assert [e.episode_id for e in hidden.episodes] == [e.episode_id for e in public.episodes]
    assert [e.seed for e in hidden.episodes] != [e.seed for e in public.episodes]
    assert hidden.hash == public.with_secret("s3cret").hash != public.with_secret("other").hash
    hidden_results = evaluate(hidden, "oracle", tmp_path / "hidden", progress=False)
    validate_submission(hidden_results, secret="s3cret")
    with pytest.raises(SubmissionError, match="suite.hash"):
        validate_submission(hidden_results)  # a hidden run is not a run of the public suite
    with pytest.raises(SubmissionError, match="suite.hash"):
        validate_submission(hidden_results, secret="wrong")
    submissions = tmp_path / "submissions"
    add_submission(smoke_results, "scripted expert", directory=submissions)
    assert board_rows("smoke", submissions)[0]["verified"] == ""
    verify_submission(hidden_results, "scripted expert", "s3cret", directory=submissions)
    assert board_rows("smoke", submissions)[0]["verified"] == "yes (1.000 hidden)"


def test_cli_hidden_split_needs_a_secret(tmp_path):
    from gr_bench.cli import main

    assert main(["eval", "--agent", "oracle", "--suite", "smoke", "--split", "hidden", "--out", str(tmp_path)]) == 2
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    out = tmp_path / "run"
    args = ["eval", "--agent", "oracle", "--suite", "smoke", "--split", "hidden", "--secret-file", str(secret)]
    assert main([*args, "--out", str(out)]) == 0
    assert main(["leaderboard", "validate", str(out / "results.json"), "--secret-file", str(secret)]) == 0
    assert main(["leaderboard", "validate", str(out / "results.json")]) == 2


def test_the_hidden_split_redraws_variations_and_phrasings():
    """Issue 16: the secret re-draws each unseen variation within its axis's pinned unseen range,
    and a phrasing bank kept with it replaces the instructions it covers."""
    from gr_bench.suites import unseen_axes

    public = get_suite("unseen")
    hidden = public.with_secret("s3cret")
    assert hidden.episodes == public.with_secret("s3cret").episodes  # a pure function of the secret
    pins = unseen_axes(public.version)
    moved = 0
    for before, after in zip(public.episodes, hidden.episodes, strict=True):
        assert set(after.variations) == set(before.variations) and after.instructions == before.instructions
        moved += after.variations != before.variations
        for axis, value in after.variations.items():  # within the pinned unseen range
            ranges = dict(pins[after.env_id])[axis]
            if "count" in ranges and isinstance(value, dict) and "count" in value:
                assert ranges["count"][0] <= value["count"] <= ranges["count"][1]
    assert moved > 0.9 * sum(bool(e.variations) for e in public.episodes)
    bank = {"open_drawer": ["ease the drawer open"], "close_drawer": {"eval": ["shut it"], "paraphrase": ["x"]}}
    phrased = get_suite("seen").with_secret("s3cret", bank)
    drawer = [e for e in phrased.episodes if e.tasks == ("open_drawer",)]
    assert drawer and {e.instructions for e in drawer} == {("ease the drawer open",)}
    closed = [e for e in phrased.episodes if e.tasks == ("close_drawer",)]  # train category: not in its bank
    assert all(e.instructions[0] != "shut it" for e in closed)
    with pytest.raises(ValueError, match="non-empty list of phrasings"):
        get_suite("seen").with_secret("s3cret", {"open_drawer": []})


def test_verify_prints_public_against_hidden(tmp_path, smoke_results, capsys):
    from gr_bench.cli import main
    from gr_bench.leaderboard import add_submission

    submissions = tmp_path / "submissions"
    add_submission(smoke_results, "scripted expert", directory=submissions)
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    bank = tmp_path / "bank.json"
    bank.write_text('{"open_drawer": ["ease the drawer open"]}')
    out = tmp_path / "hidden"
    common = ["--secret-file", str(secret), "--phrasings-file", str(bank)]
    assert main(["eval", "--agent", "oracle", "--suite", "smoke", "--split", "hidden", *common, "--out", str(out)]) == 0
    capsys.readouterr()
    args = ["leaderboard", "verify", str(out / "results.json"), "--name", "scripted expert"]
    assert main([*args, "--submissions", str(submissions), *common]) == 0
    text = capsys.readouterr().out
    assert "public" in text and "hidden" in text and "overall" in text and "verified" in text
    assert main([*args, "--submissions", str(submissions), "--secret-file", str(secret)]) == 2  # bank left out
