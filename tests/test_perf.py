"""The speed gate: every benchmark runs; processes take turns and never overlap; check compares the
candidate with a reference revision in a git worktree that really imports its own code; ratios and
the verdict name what moved; a 3x slower env step or agent forward fails (slow); a peer that cannot
run is reported, not raised. The score gate: a minimum success per suite on validated results."""

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gr_bench.cli import main
from gr_bench.perf.gate import compare, failed, format_check
from gr_bench.perf.interleave import Process, take_turns

ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_once(tmp_path):
    """Every figure, once and untimed (--benchmark-disable): a change that breaks one shows up here,
    not first in the CI gate."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "benchmarks"), "-q", "--benchmark-disable"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MUJOCO_GL": "egl"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_processes_take_turns_without_overlap(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from gr_bench.perf.interleave import Turns
            turns, name = Turns(), sys.argv[1]
            with open(sys.argv[2], "a") as log:
                for key in ["a"] * 3 + (["only_" + name] if name == "one" else []) + ["b"] * 2:
                    turns.wait(key)
                    log.write(f"start {{name}} {{key}}\\n"); log.flush()
                    time.sleep(0.01)
                    log.write(f"end {{name}} {{key}}\\n"); log.flush()
            """
        )
    )
    log = tmp_path / "log.txt"
    processes = [
        Process(name, [sys.executable, str(worker), name, str(log)], tmp_path, dict(os.environ), tmp_path / name)
        for name in ("one", "two")
    ]
    assert take_turns(processes, timeout=60) == {"one": 0, "two": 0}
    lines = log.read_text().splitlines()
    starts = [line.split(maxsplit=1)[1] for line in lines if line.startswith("start")]
    # one at a time: every start is followed by its own end
    assert all(lines[i].replace("start", "end") == lines[i + 1] for i in range(0, len(lines), 2))
    # the sides alternate at each figure; a figure one side alone runs is done before both move on
    assert starts == ["one a", "two a"] * 3 + ["one only_one"] + ["one b", "two b"] * 2


def _benchmarks(seconds: dict[str, float]) -> dict:
    return {
        "machine_info": {},
        "benchmarks": [
            {"name": name, "group": "g", "extra_info": {"calls": 10, "unit": "env steps"}, "stats": {"median": 10 * s}}
            for name, s in seconds.items()
        ],
    }


def test_compare_names_each_movement():
    candidate = _benchmarks(
        {"slower": 3.0, "faster": 0.5, "same": 1.1, "new": 1.0, "not_there": 1.0, "fast_but_failing": 0.1}
    )
    candidate["failed"] = ["broken", "broken_everywhere", "fast_but_failing"]  # from pytest's summary
    reference = _benchmarks({"slower": 1.0, "faster": 1.0, "same": 1.0, "broken": 1.0, "not_there": 0.1})
    reference["failed"] = ["not_there"]  # timed, then its test failed: the reference lacks what it measures
    figures = {f.name: f for f in compare(candidate, reference, tolerance=0.25)}
    assert figures["not_there"].status == "new (not gated)" and figures["not_there"].other is None
    assert figures["slower"].status == "REGRESSION" and figures["slower"].ratio == pytest.approx(3.0)
    assert figures["faster"].status == "improvement"
    assert figures["same"].status == "ok"
    assert figures["new"].status == "new (not gated)"
    assert figures["broken"].status == "FAILED"  # the reference ran it, the candidate did not
    assert figures["broken_everywhere"].status == "FAILED"  # neither side ran it
    assert figures["fast_but_failing"].status == "FAILED"  # timed, then its test failed
    expected = {"slower", "broken", "broken_everywhere", "fast_but_failing"}
    assert {f.name for f in failed(list(figures.values()))} == expected
    text = format_check(list(figures.values()), 0.25, "abc123")
    assert "REGRESSION: slower takes 3.00x the reference's time per env step" in text
    assert "FAILED: broken failed or did not run in the candidate" in text
    assert text.splitlines()[-1] == "perf: 2 passed, 4 failed"
    with pytest.raises(ValueError, match="tolerance"):
        compare(candidate, reference, tolerance=-1)


def test_check_against_a_revision_in_a_worktree(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --out relative, as .ci/run gives it
    out = tmp_path / "perf"
    args = ["perf", "check", "--reference", "HEAD", "-k", "tabletop_step and no_cameras", "--rounds", "3"]
    assert main([*args, "--out", "perf"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "perf: 1 passed, 0 failed"
    reference = json.loads((out / "reference.json").read_text())
    candidate = json.loads((out / "candidate.json").read_text())
    # each side imported its own tree's code, and the worktree is gone afterwards
    tree = Path(reference["machine_info"]["code"]["envs"]).parent
    assert tree != ROOT and tree.name == "tree"
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    assert reference["commit_info"]["id"] == head
    assert Path(candidate["machine_info"]["code"]["envs"]) == ROOT / "envs"
    assert not tree.exists()
    assert str(tree) not in subprocess.check_output(["git", "worktree", "list"], cwd=ROOT, text=True)
    summary = json.loads((out / "check.json").read_text())
    assert summary["figures"][0]["name"] == "test_tabletop_step[no_cameras]" and summary["figures"][0]["ratio"] > 0


def test_a_missing_reference_is_a_clear_error(tmp_path, capsys):
    assert main(["perf", "check", "--reference", "0" * 40, "--out", str(tmp_path)]) == 2
    assert "not in this clone" in capsys.readouterr().err
    (tmp_path / "old.json").write_text('{"format": "gr-bench-perf/1"}')
    assert main(["perf", "check", "--baseline", str(tmp_path / "old.json"), "--out", str(tmp_path)]) == 2
    assert "gr-bench perf baseline" in capsys.readouterr().err


def test_baseline_names_a_revision(tmp_path):
    path = tmp_path / "baseline.json"
    assert main(["perf", "baseline", "--baseline", str(path)]) == 0
    baseline = json.loads(path.read_text())
    assert baseline["revision"] == subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    committed = json.loads((ROOT / "benchmarks" / "baseline.json").read_text())
    subprocess.run(["git", "cat-file", "-e", f"{committed['revision']}^{{commit}}"], cwd=ROOT, check=True)


def test_an_unavailable_peer_is_reported_not_raised(tmp_path, capsys):
    (tmp_path / "file").write_text("")  # a venv path under a regular file cannot be created
    args = ["perf", "run", "-k", "tabletop_step and no_cameras", "--rounds", "1", "--out", str(tmp_path / "out")]
    assert main([*args, "--peer", "robosuite", "--peer-venv", str(tmp_path / "file" / "venv")]) == 0
    captured = capsys.readouterr()
    assert "peer robosuite unavailable" in captured.err and "test_tabletop_step[no_cameras]" in captured.out
    # a venv that looks installed but lacks robosuite: its benchmarks skip, and that is reported
    from gr_bench.perf.peer import PEERS

    fake = tmp_path / "fake"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(sys.executable)
    (fake / "installed.txt").write_text("\n".join(PEERS["robosuite"].packages) + "\n")
    assert main([*args, "--peer", "robosuite", "--peer-venv", str(fake)]) == 0
    assert "the robosuite benchmarks wrote no results" in capsys.readouterr().err


def _slowed_clone(tmp_path: Path) -> Path:
    """This checkout's HEAD cloned, with the tabletop env step and GR-1's forward (observation
    encoder and trunk) made about 3x slower (uncommitted), as a candidate to gate against HEAD."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(clone)], check=True)
    with open(clone / "envs" / "tabletop" / "env.py", "a", encoding="utf-8") as f:
        f.write(
            textwrap.dedent(
                """
                _step = TabletopEnv.step


                def _slowed_step(self, action):  # 40 raw mj_steps more on scratch data: about twice an env step
                    import mujoco

                    scratch = self.__dict__.setdefault("_scratch", mujoco.MjData(self.sim.model))
                    mujoco.mj_step(self.sim.model, scratch, nstep=40)
                    return _step(self, action)


                TabletopEnv.step = _slowed_step
                """
            )
        )
    with open(clone / "agents" / "gr1" / "model.py", "a", encoding="utf-8") as f:
        f.write(
            textwrap.dedent(
                """
                def _thrice(method):
                    def slowed(self, *args, **kwargs):
                        for _ in range(2):
                            method(self, *args, **kwargs)
                        return method(self, *args, **kwargs)

                    return slowed


                GR1.encode_observation = _thrice(GR1.encode_observation)
                GR1.trunk = _thrice(GR1.trunk)
                """
            )
        )
    return clone


@pytest.mark.slow
def test_gate_fails_on_a_3x_slower_env_step_and_agent_forward(tmp_path):
    clone = _slowed_clone(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "gr_bench.cli", "perf", "check", "--reference", "HEAD", "--out", str(tmp_path / "out")]
        + ["-k", "tabletop_step or act or tidy_step", "--rounds", "5"],
        capture_output=True,
        text=True,
        cwd=clone,
        env={**os.environ, "PYTHONPATH": str(clone), "MUJOCO_GL": "egl"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    figures = {f["name"]: f for f in json.loads((tmp_path / "out" / "check.json").read_text())["figures"]}
    for name in ("test_tabletop_step[no_cameras]", "test_act[gr1_tiny]"):
        assert figures[name]["status"] == "REGRESSION" and figures[name]["ratio"] > 2, figures[name]
        assert f"REGRESSION: {name}" in done.stdout
    for name in ("test_act[random]", "test_act[gr3_tiny]", "test_tidy_step[no_cameras]"):
        assert figures[name]["status"] == "ok", figures[name]
    assert "measuring" in done.stderr  # the regressions were measured again and persisted


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
    assert main(["check", str(path), "--min-success", "seen=0.5"]) == 2  # nothing gated at all
    assert "none of the 1 results files is of a suite given a --min-success (seen)" in capsys.readouterr().err
    assert main(["check", str(path), "--min-success", "1.5"]) == 2

    edited = copy.deepcopy(three_of_four)
    edited["aggregates"]["overall"]["rate"] = 1.0  # a number edited by hand
    path.write_text(json.dumps(edited))
    assert main(["check", str(path), "--min-success", "0.7"]) == 2
    assert "aggregates.overall.rate" in capsys.readouterr().err
    path.write_text("{}")
    assert main(["check", str(path), "--min-success", "0.7"]) == 2
    assert "not a gr-bench results file" in capsys.readouterr().err


def test_score_gate_over_a_glob_with_other_suites(smoke_results, tmp_path, capsys):
    """docs/gating.md's `gr-bench check runs/*/results.json --min-success seen=0.6 --min-success
    unseen=0.3`, with the quick start's smoke run in the glob: it is listed, not gated."""
    from gr_bench.evaluator import evaluate
    from gr_bench.suites import get_suite

    evaluate(get_suite("seen").select(episodes=1), "oracle", tmp_path / "ci-seen", progress=False)
    (tmp_path / "smoke-oracle").mkdir()
    (tmp_path / "smoke-oracle" / "results.json").write_text(json.dumps(smoke_results))
    files = sorted(str(p) for p in tmp_path.glob("*/results.json"))
    assert main(["check", *files, "--min-success", "seen=0.6", "--min-success", "unseen=0.3"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "oracle on seen" in out
    assert "SKIP" in out and "no --min-success for smoke, not gated" in out
