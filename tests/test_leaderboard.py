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
        (lambda r: r["episodes"][1].update(success=False), "aggregates.overall"),
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
