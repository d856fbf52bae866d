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
