"""Scores that mean what they say (issue 16 item 1): under rules 3 an impossible request succeeds
only when the agent reports `invalid`, refusals and "done" claims are scored, and an agent without a
status gets "n/a", not a score earned by idling. Rules 2 (every released suite so far) is unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gr_bench.evaluator import evaluate
from gr_bench.leaderboard import validate_submission
from gr_bench.results import done_claim_scores, refusal_scores
from gr_bench.suites import Suite, get_suite


def _with_rules(suite: Suite, rules: int) -> Suite:
    return replace(suite, episodes=tuple(replace(e, rules=rules) for e in suite.episodes), subset_of=None)


def test_rules_2_episodes_keep_their_json_and_hashes():
    seen = get_suite("seen", 2)
    assert all("rules" not in e.to_json() for e in seen.episodes)
    assert all(e.to_json()["rules"] == 3 for e in get_suite("seen", 3).episodes)  # v3: rules 3 throughout
    assert _with_rules(seen, 3).episodes[0].to_json()["rules"] == 3
    assert _with_rules(seen, 3).hash != seen.hash == _with_rules(seen, 2).hash


def test_idling_earns_nothing_under_rules_3(tmp_path):
    invalid = get_suite("ood-instruction", 2).select(track="tabletop", category="invalid", episodes=4)
    old = evaluate(invalid, "random", tmp_path / "v2", progress=False)
    new = evaluate(_with_rules(invalid, 3), "random", tmp_path / "v3", progress=False)
    assert old["aggregates"]["overall"]["successes"] > 0  # rules 2: touching nothing was a refusal
    assert new["aggregates"]["overall"]["successes"] == 0
    assert new["aggregates"]["refusal"] == {"status": "n/a"}
    assert all(r["rules"] == 3 for r in new["episodes"])
    oracle = evaluate(_with_rules(invalid, 3), "oracle", tmp_path / "oracle", progress=False)
    assert oracle["aggregates"]["overall"]["successes"] == 4  # it reports `invalid`
    assert oracle["aggregates"]["refusal"]["recall"]["rate"] == 1.0


def test_a_success_under_rules_3_asks_the_agent_whether_it_is_done(tmp_path):
    smoke = _with_rules(get_suite("smoke").select(episodes=2), 3)
    results = evaluate(smoke, "oracle", tmp_path / "run", progress=False)
    for record in results["episodes"]:
        assert record["success"] and len(record["done_claims"]) == 1  # one claim probed per task done


def test_refusal_and_claim_scores_from_records():
    def record(category, status, success=False, claims=None):
        r = {"instruction_category": category, "status": status, "success": success, "rules": 3}
        return r | ({"done_claims": claims} if claims is not None else {})

    records = [
        record("invalid", "invalid", True),
        record("invalid", "ongoing"),
        record("train", "invalid"),  # a false refusal
        record("train", "ongoing", True, [True]),  # done, and said so when asked
        record("train", "terminated"),  # claimed done before it was
        record("train", "ongoing", True, [False]),
    ]
    refusal = refusal_scores(records)
    assert refusal["refusals"] == 2 and refusal["recall"]["rate"] == 0.5 and refusal["precision"]["rate"] == 0.5
    assert refusal["false_refusal"]["successes"] == 1 and refusal["false_refusal"]["n"] == 4
    claims = done_claim_scores(records)
    assert claims["recall"]["successes"] == 1 and claims["recall"]["n"] == 2
    assert claims["precision"]["successes"] == 1 and claims["precision"]["n"] == 2
    assert refusal_scores([record("train", "ongoing")]) == {"status": "n/a"}


def test_older_results_files_still_validate_and_new_ones_carry_the_scores(tmp_path):
    from gr_bench.leaderboard import SUBMISSIONS_DIR, read_submission

    for path in sorted(SUBMISSIONS_DIR.rglob("*.json"))[:3]:
        validate_submission(read_submission(path)["results"])
    results = evaluate(get_suite("smoke"), "random", tmp_path / "smoke", progress=False)
    assert results["schema_version"] == 3 and "refusal" in results["aggregates"]
    validate_submission(results)
    tampered = dict(results, aggregates={**results["aggregates"], "refusal": {"status": "perfect"}})
    with pytest.raises(ValueError, match="aggregates.refusal"):
        validate_submission(tampered)
