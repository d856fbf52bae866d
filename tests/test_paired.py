"""Paired comparisons (gr_bench/paired.py): McNemar's exact test and the cross-environment pairing
the cross-sim report is built on."""

from __future__ import annotations

import pytest

from gr_bench.paired import across_envs, compare, markdown_lines, mcnemar_exact
from gr_bench.report import html_page, markdown
from gr_bench.results import aggregate

MJ, PB = "GRBench/Tabletop-v0", "GRBench/TabletopBullet-v0"


def test_mcnemar_exact_known_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # all five discordant pairs one way
    assert mcnemar_exact(5, 0) == mcnemar_exact(0, 5)  # two-sided
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(20, 23) == pytest.approx(0.761, abs=1e-3)  # GR-1 vs its DART continuation
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)


def test_compare_counts_both_sides():
    c = compare([(True, True), (True, False), (False, True), (False, True), (False, False)])
    assert (c["pairs"], c["both"], c["only_a"], c["only_b"]) == (5, 1, 1, 2)
    assert c["a"]["successes"] == 2 and c["b"]["successes"] == 3
    assert c["p"] == 1.0


def _record(sim, env_id, task, index, success, axis="none", headline=True):
    return {
        "episode_id": f"{sim}/seen/{axis}/train/{task}/A/{index}",
        "env_id": env_id,
        "scene": "A",
        "tasks": [task],
        "instructions": [task.replace("_", " ")],
        "seed": 100 + index,
        "instruction_category": "train",
        "axis": axis,
        "variations": {},
        "success": success,
        "completed": int(success),
        "steps": 10,
        "failure": None,
        "progress": float(success),
        "headline": headline,
    }


def _cross_sim_records():
    records = []
    for i in range(6):  # open_drawer: solved in MuJoCo every time, in the twin every other time
        records += [
            _record("mujoco", MJ, "open_drawer", i, True),
            _record("pybullet", PB, "open_drawer", i, i % 2 == 0),
        ]
    for i in range(4):  # lighting: the twin solves one MuJoCo does not
        records += [
            _record("mujoco", MJ, "stack_block", i, False, axis="lighting"),
            _record("pybullet", PB, "stack_block", i, i == 0, axis="lighting"),
        ]
    # beside the headline: never paired, never counted
    records += [_record("mujoco", MJ, "close_drawer", 0, True, headline=False)]
    return records


def test_across_envs_pairs_each_episode_with_its_twin():
    paired = across_envs(_cross_sim_records())
    assert paired["envs"] == [MJ, PB]
    overall = paired["overall"]
    assert (overall["pairs"], overall["both"], overall["only_a"], overall["only_b"]) == (10, 3, 3, 1)
    assert paired["per_task"]["open_drawer"]["a"]["rate"] == 1.0
    assert paired["per_task"]["open_drawer"]["b"]["rate"] == 0.5
    assert paired["per_axis"]["lighting"]["only_b"] == 1
    assert "close_drawer" not in paired["per_task"]
    lines = markdown_lines(paired)
    assert lines[0].startswith("Paired across environments (10 episodes")
    assert any(line.startswith("| task: open_drawer | 100.0%") and "| -50.0% | 3 / 0 |" in line for line in lines)


def test_nothing_to_pair_is_none():
    records = _cross_sim_records()
    assert across_envs(records[:-2]) is None  # one episode lost its twin
    one_env = [r for r in records if r["env_id"] == MJ]
    assert across_envs(one_env) is None
    assert across_envs([]) is None


def test_the_report_shows_the_paired_section_only_for_paired_runs():
    def results(records):
        suite = {"name": "cross-sim", "version": 1, "track": "all", "hash": "0" * 64, "episodes": len(records)}
        return {
            "suite": suite,
            "agent": {"name": "oracle", "config": {}},
            "git_revision": "abc",
            "episodes": records,
            "aggregates": aggregate(records),
        }

    records = _cross_sim_records()
    assert "Paired across environments (10 episodes" in markdown(results(records))
    assert "<h2>Paired across environments</h2>" in html_page(results(records))
    one_sim = results([r for r in records if r["env_id"] == MJ])
    assert "Paired across environments" not in markdown(one_sim) + html_page(one_sim)
