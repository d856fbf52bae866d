"""The perf gate: it fails on a deliberately slowed env step and passes otherwise; comparisons name
what moved; a peer that cannot run is reported, not raised; the score gate checks a minimum
success per suite on validated results files."""

import copy
import json
import sys

import pytest

from gr_bench.cli import main
from gr_bench.perf.compare import IMPROVEMENT, REGRESSION, compare, failures, format_changes
from gr_bench.perf.measure import REPORT_FORMAT, run_report

FIGURE = "env_step_no_cameras"
FEW = ["--repetitions", "5", "--scale", "0.5"]  # seconds, not minutes; still steady at a 25% tolerance


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = tmp_path_factory.mktemp("perf") / "baseline.json"
    assert main(["perf", "baseline", "--baseline", str(path), "--only", FIGURE, *FEW]) == 0
    return path


def test_gate_passes_on_the_same_code(baseline, capsys):
    assert main(["perf", "check", "--baseline", str(baseline), "--only", FIGURE, *FEW]) == 0
    assert "perf: 1 passed, 0 failed" in capsys.readouterr().out


def test_gate_fails_on_a_slowed_env_step(baseline, tmp_path, capsys):
    # 64 extra raw mj_steps per env step: an env step costs about 30 raw mj_steps, so 3x slower
    report = tmp_path / "slow.json"
    args = ["perf", "check", "--baseline", str(baseline), "--only", FIGURE, *FEW, "--out", str(report)]
    assert main([*args, "--slow-env-step", "64"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert f"re-measuring {FIGURE} (attempt 2 of 2)" in captured.err  # a real regression survives the retries
    assert f"REGRESSION: {FIGURE}" in out and "slower than the baseline" in out
    assert "perf: 0 passed, 1 failed" in out
    # the report written alongside can be checked again without measuring
    assert main(["perf", "check", "--baseline", str(baseline), "--report", str(report)]) == 1


def test_report_records_what_a_reader_needs(baseline):
    report = json.loads(baseline.read_text())
    assert report["format"] == REPORT_FORMAT
    assert {"git_revision", "versions", "machine", "settings", "calibrations", "figures"} <= set(report)
    assert report["versions"]["mujoco"] and report["machine"]["cpus"] >= 1
    figure = report["figures"][FIGURE]
    assert figure["calibration"] == "mj_step" and len(figure["ratios"]) == 5
    assert figure["ratio"] == pytest.approx(figure["cpu_rate"] / report["calibrations"]["mj_step"]["cpu_rate"], rel=0.5)
    assert report["calvin_target"] is None  # the two-camera figure was not run


def _report(ratios: dict[str, float], calibration: str = "mj_step", skipped=None) -> dict:
    figures = {
        name: {"ratio": r, "rate": 100.0 * r, "unit": "env steps", "calibration": calibration, "description": name}
        for name, r in ratios.items()
    }
    names = [*ratios, *(skipped or {})]
    return {"format": REPORT_FORMAT, "settings": {"figures": names}, "figures": figures, "skipped": skipped or {}}


def test_compare_names_each_movement():
    baseline = _report({"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 1.0, "f": 1.0})
    report = _report({"a": 0.7, "b": 1.3, "c": 0.8, "new": 1.0}, skipped={"d": "ImportError: no torch"})
    report["settings"]["figures"].append("f")  # asked for, yet absent: a failure, not a silent pass
    changes = {c.name: c for c in compare(report, baseline, tolerance=0.25)}
    assert changes["a"].status == REGRESSION and changes["a"].change == pytest.approx(-0.3)
    assert changes["b"].status == IMPROVEMENT
    assert changes["c"].status == "ok"
    assert changes["d"].status == "skipped" and "torch" in changes["d"].note
    assert changes["e"].status == "not run"
    assert changes["f"].status == "not measured"
    assert changes["new"].status == "new"
    assert {c.name for c in failures(list(changes.values()))} == {"a", "f"}
    text = format_changes(list(changes.values()), report, 0.25)
    assert "REGRESSION: a" in text and "30% slower" in text and "improvement: b is 30% faster" in text
    with pytest.raises(ValueError, match="tolerance"):
        compare(report, baseline, tolerance=25)
    other = compare(_report({"a": 1.0}, calibration="matmul"), baseline, 0.25)
    assert other[0].status == "calibration changed"


def test_agent_figures_come_from_the_registry():
    from gr_bench.perf.figures import AGENTS, FIGURES, AgentPerf

    for name, perf in AGENTS.items():
        assert f"act_{name}" in FIGURES
        assert (f"train_step_{name}" in FIGURES) == bool(perf.train_step)
    with pytest.raises(ValueError, match="exactly one of spec and build"):
        AgentPerf()
    report = run_report(["act_random"], repetitions=2, scale=0.05)
    assert report["figures"]["act_random"]["calibration"] == "matmul"


def test_unknown_figure_is_refused(capsys):
    assert main(["perf", "run", "--only", "no_such_figure"]) == 2
    assert "no figure matches" in capsys.readouterr().err


def test_an_unavailable_peer_is_reported_not_raised(tmp_path):
    from gr_bench.perf.peer import PEERS, measure_peer

    # a venv path under a regular file cannot be created
    (tmp_path / "file").write_text("")
    broken = measure_peer("robosuite", tmp_path / "file" / "venv", log=lambda line: None)
    assert broken["status"] == "unavailable" and "Error" in broken["error"]
    # a venv that looks installed but lacks robosuite: the peer script's own failure is reported
    fake = tmp_path / "fake"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(sys.executable)
    (fake / "installed.txt").write_text("\n".join(PEERS["robosuite"].packages) + "\n")
    failed = measure_peer("robosuite", fake, log=lambda line: None)
    assert failed["status"] == "unavailable" and "robosuite" in failed["error"]


# --- the score gate ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    return evaluate(get_suite("smoke"), "oracle", tmp_path_factory.mktemp("smoke"), progress=False)


def test_score_gate(smoke_results, tmp_path, capsys):
    from gr_bench.results import aggregate

    three_of_four = copy.deepcopy(smoke_results)
    three_of_four["episodes"][0].update(success=False, completed=0)
    three_of_four["aggregates"] = aggregate(three_of_four["episodes"])
    path = tmp_path / "results.json"
    path.write_text(json.dumps(three_of_four))

    assert main(["check", str(path), "--min-success", "0.7"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["check", str(path), "--min-success", "0.6", "--min-success", "smoke=0.8"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "success 0.750 (3/4" in out and "< 0.800" in out
    assert main(["check", str(path), "--min-success", "seen=0.5"]) == 2  # no threshold for this suite
    assert "no --min-success for suite 'smoke'" in capsys.readouterr().err
    assert main(["check", str(path), "--min-success", "1.5"]) == 2

    edited = copy.deepcopy(three_of_four)
    edited["aggregates"]["overall"]["rate"] = 1.0  # a number edited by hand
    path.write_text(json.dumps(edited))
    assert main(["check", str(path), "--min-success", "0.7"]) == 2
    assert "aggregates.overall.rate" in capsys.readouterr().err
    path.write_text("{}")
    assert main(["check", str(path), "--min-success", "0.7"]) == 2
    assert "not a gr-bench results file" in capsys.readouterr().err


@pytest.mark.parametrize("agent", ["gr1_tiny", "gr3_tiny"])
def test_every_agent_figure_builds_and_runs(agent, tmp_path):
    """The gated agent figures run (not timed here): a change to an agent's constructor or loss that
    breaks them shows up in the fast tests, not first in the CI perf gate."""
    pytest.importorskip("torch")
    import importlib

    import numpy as np

    from gr_bench.perf.figures import AGENTS, camera_observation

    def load(path: str):
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)

    perf = AGENTS[agent]
    built = load(perf.build)(tmp_path)
    built.reset("open the drawer")
    action = built.act(camera_observation())
    action = action[0] if isinstance(action, tuple) else action
    assert np.all(np.isfinite(action))
    load(perf.train_step)(tmp_path)()  # one optimiser step
