"""Suite filters: the views gr-bench eval's --env/--task/--axis/--category options give."""

from __future__ import annotations

import pytest

from gr_bench.suites import get_suite


def test_select_by_instruction_category():
    suite = get_suite("ood-instruction")
    invalid = suite.select(category="invalid")
    assert invalid.episodes and all(e.instruction_category == "invalid" for e in invalid.episodes)
    assert len(invalid.episodes) == sum(e.instruction_category == "invalid" for e in suite.episodes)
    tabletop = suite.select(env="GRBench/Tabletop-v0", category="invalid")
    assert len(tabletop.episodes) == 35  # the tabletop's invalid requests, one episode each
    # a name no episode has is a typo, refused with the names there are (issue 14)
    with pytest.raises(ValueError, match="no-such-category.*Its instruction category values: "):
        suite.select(category="no-such-category")


def test_a_subset_says_what_it_was_drawn_from():
    """A filtered or subsampled view records the released suite or track it came from (issue 16:
    a subset's hash is never shown as if it were the suite's); whole suites and tracks record none."""
    seen = get_suite("seen")
    assert seen.subset_of is None and seen.select(track="tidy").subset_of is None
    assert seen.select(episodes=len(seen.episodes)).subset_of is None  # everything: not a subset
    part = seen.select(episodes=5)
    assert part.subset_of == {"track": "all", "hash": seen.hash, "episodes": len(seen.episodes)}
    assert part.describe().startswith(f"5 of the {len(seen.episodes)} episodes of seen v{seen.version}")
    tidy = seen.select(track="tidy")
    few = seen.select(track="tidy", category="one_object")
    assert few.subset_of == {"track": "tidy", "hash": tidy.hash, "episodes": len(tidy.episodes)}
    assert few.select(episodes=1).subset_of == few.subset_of  # a subset of a subset: still the released one's


def test_a_subset_run_records_it_in_its_results_and_report(tmp_path):
    from gr_bench.evaluator import evaluate
    from gr_bench.report import markdown, table
    from gr_bench.results import validate

    seen = get_suite("seen")
    results = evaluate(seen.select(episodes=2), "random", tmp_path / "run", progress=False)
    validate(results)
    assert results["suite"]["subset_of"]["hash"] == seen.hash and results["suite"]["episodes"] == 2
    assert f"2 of its {len(seen.episodes)} episodes ({seen.hash[:12]}" in table(results)
    assert "A subset: 2 of the" in markdown(results)
