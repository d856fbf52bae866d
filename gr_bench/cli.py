"""The ``gr-bench`` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import signal
import sys
from pathlib import Path

# Larger subcommands live in their own modules, each with ``add_parser(subparsers)``; those modules
# import torch and the simulator only inside the command they run, so building the parser stays cheap.
SUBCOMMAND_MODULES: list[str] = [
    "gr_bench.train",
    "gr_bench.collect",
    "gr_bench.collect_vl",
    "gr_bench.perf",
    "gr_bench.serve",
]


def _scene_list(scenes: tuple[str, ...]) -> str:
    """Scenes as the help shows them: single letters run together (ABCD), names with slashes."""
    return "".join(scenes) if all(len(s) == 1 for s in scenes) else "/".join(scenes)


def _families():
    """The registered environment families (``envs.family``); importing them renders nothing."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering by default, and no notice about it
    import envs  # noqa: F401  (registers the built-in families)
    from envs.family import families

    return families()


def _play_examples() -> str:
    lines = ["examples:", "  gr-bench play --task open_drawer --scene A --out demo.mp4"]
    lines.append("  gr-bench play --task stack_block --scene D --seed 3 --out stack.gif")
    for family in _families():
        lines.append(f"  gr-bench play --env {family.env_id} --out {family.id}.mp4   # {family.default_task}")
    return "\n".join(lines) + "\n"


MIN_PLAY_SIZE = 32  # pixels of the first camera: the smallest cameras are a fraction of it


def _play(args: argparse.Namespace) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering by default
    import gymnasium as gym
    from tqdm import tqdm

    import envs  # noqa: F401  (registers the environments)
    from envs.family import family_named
    from gr_bench.video import side_by_side, write_video

    family = family_named(args.env or _families()[0].env_id)
    if args.size < MIN_PLAY_SIZE:
        raise ValueError(f"--size must be at least {MIN_PLAY_SIZE} pixels (a watchable video), got {args.size}")
    cameras = [camera.name for camera in family.cameras]
    scene = args.scene or family.training_scenes[0]
    if scene not in family.scenes:
        from envs.errors import unknown_name_error

        raise unknown_name_error(f"scene of {family.env_id}", scene, family.scenes)
    env = gym.make(
        family.env_id,
        scene=scene,
        resolution={c.name: max(1, int(args.size * c.play_fraction)) for c in family.cameras},
    )
    expert = family.expert_class()(env)
    obs, info = env.reset(seed=args.seed, options={"task": args.task or family.default_task})
    expert.reset(obs["instruction"])
    print(f'task {info["task"]} in scene {info["scene"]}: "{info["instruction"]}"')
    if "initial_state" in info:
        print(f"initial state: {info['initial_state']}")
    frames = [side_by_side([obs[f"rgb_{c}"] for c in cameras])]
    steps = 0
    total = env.spec.max_episode_steps or env.unwrapped.max_steps
    with tqdm(total=total, desc="expert rollout", unit="step") as bar:
        while True:
            obs, _, terminated, truncated, info = env.step(expert.act(obs))
            frames.append(side_by_side([obs[f"rgb_{c}"] for c in cameras]))
            steps += 1
            bar.update(1)
            if terminated or truncated:
                break
    # hold the last frame for a second so the outcome can be seen
    frames += [frames[-1]] * env.metadata["render_fps"]
    path = write_video(args.out, frames, fps=env.metadata["render_fps"])
    env.close()
    outcome = "success" if info["success"] else "FAILED"
    progress = f" (progress {info['progress']:.0%})" if "progress" in info else ""
    print(f"{outcome} after {steps} steps{progress}; video: {path}")
    return 0 if info["success"] else 1


def _find_local_agents() -> None:
    """module:Class agents are found in the current directory too, as `python -m` finds them."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())


def _watch(args: argparse.Namespace) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    _find_local_agents()
    from gr_bench.watch import describe, film_episode

    result = film_episode(args.run, args.episode, args.out)
    print(describe(result))
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from envs.family import family_named

    chosen = [family_named(args.env)] if args.env else _families()
    for index, family in enumerate(chosen):
        if len(chosen) > 1:
            kind = "tasks" if family.closed_tasks else "example requests (any composition is parsed)"
            print(f"{chr(10) if index else ''}{family.env_id} ({family.id}): {family.description}; {kind}")
        for name, category in family.tasks().items():
            print(f'{name:28s} {category:18s} "{family.instructions(name, "train")[0]}"')
    return 0


EVAL_EXAMPLES = """examples:
  gr-bench eval --agent oracle --suite smoke
  gr-bench eval --agent random --suite seen --workers 2 --out runs/random-seen
  gr-bench eval --agent oracle --suite long-horizon --episodes 50
  gr-bench eval --agent my_pkg.policy:MyAgent --suite unseen --axis lighting
  gr-bench eval --agent oracle --suite seen --out runs/x --resume     # finish a killed run
  gr-bench eval --agent oracle --suite seen --backend ray --address HOST:6379 --workers 32   # on a Ray cluster
  gr-bench eval --agent ws://127.0.0.1:8000 --suite seen              # an agent served by gr-bench serve
  gr-bench eval --agent gr3 --suite seen --episodes 40 --latency-steps 0,2,4,8   # success against latency
  gr-bench eval --agent oracle --suite seen --track TRACK               # one family's episodes (see gr-bench ls suites)
  gr-bench eval --agent random --suite seen --reuse leaderboards/submissions/seen/v1/random-gr-bench-reference.json
                                       # import the records of identical episodes of an earlier run
"""


def _eval(args: argparse.Namespace) -> int:
    import faulthandler

    os.environ.setdefault("MUJOCO_GL", "egl")
    # a crash in native agent code run in this process says where it was (stderr may be captured: no file)
    with contextlib.suppress(ValueError, OSError):
        faulthandler.enable()
    _find_local_agents()
    from gr_bench.evaluator import evaluate
    from gr_bench.report import table, write_reports
    from gr_bench.suites import get_suite

    suite = get_suite(args.suite, args.suite_version)
    if args.split == "hidden":
        if not args.secret_file:
            raise ValueError("--split hidden needs --secret-file (the maintainers' secret that seeds the split)")
        suite = suite.with_secret(_read_secret(args.secret_file), _read_phrasings(args.phrasings_file))
    elif args.phrasings_file:
        raise ValueError("--phrasings-file is for --split hidden (the bank is kept with the secret)")
    tasks = tuple(args.task.split(",")) if args.task else None
    suite = suite.select(
        env=args.env, track=args.track, task=tasks, axis=args.axis, category=args.category, episodes=args.episodes
    )
    if args.split == "hidden":  # its starts screened as the release screened its own
        suite = suite.rescreened()
    if not suite.episodes:
        raise ValueError(f"no episode of suite {args.suite!r} matches --env/--task/--axis/--category")
    from envs.family import family_named

    for env_id in dict.fromkeys(e.env_id for e in suite.episodes):  # before any run directory exists
        missing = family_named(env_id).missing_requirement()
        if missing:
            raise ValueError(f"{missing} (or leave its episodes out: --env, --track)")
    from gr_bench.agents import config_from_options

    config, default = config_from_options(args.agent, args.agent_config, args.set, args.checkpoint)
    if default:
        from agents.train.checkpoint import checkpoint_sha256, resolve_checkpoint

        folder = resolve_checkpoint(default)
        print(
            f"agent {args.agent}: the shipped reference checkpoint {default} ({folder}, sha256 "
            f"{checkpoint_sha256(folder)[:16]}); --checkpoint picks another"
        )
    latencies = _latencies(args.latency_steps)
    _check_agent_fits(suite, args.agent, config or None)
    out = Path(args.out or f"runs/{args.suite}-{args.agent.replace('://', '-').replace(':', '.').replace('/', '.')}")
    runs = []
    for latency in latencies:
        # a run without latency has the config (and so the identity) it always had
        run_config = (config | {"latency_steps": latency} if latency else config) or None
        run_out = out / f"latency-{latency}" if len(latencies) > 1 else out
        if len(latencies) > 1:
            print(f"latency {latency} control steps -> {run_out}")
        results = evaluate(
            suite,
            args.agent,
            run_out,
            agent_config=run_config,
            workers=args.workers,
            resume=args.resume,
            reuse=args.reuse,
            time_limit=args.time_limit,
            backend=args.backend,
            address=args.address,
        )
        md, page = write_reports(results, run_out)
        print(table(results))
        print(f"results: {run_out / 'results.json'}  report: {md}, {page}")
        runs.append((latency, results))
    if len(runs) > 1:
        from gr_bench.report import write_latency_curve

        print(f"success against latency: {', '.join(str(p) for p in write_latency_curve(runs, out))}")
    return 0


def _latencies(text: str | None) -> list[int]:
    """``--latency-steps``: one whole number of control steps, or several, comma-separated."""
    if text is None:
        return [0]
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--latency-steps takes whole numbers of control steps, e.g. 4 or 0,2,4,8; got {text!r}"
        ) from None
    if any(v < 0 or v > 1000 for v in values) or len(set(values)) != len(values):
        raise ValueError(f"--latency-steps must be distinct numbers of control steps in [0, 1000], got {text!r}")
    return values


def _check_agent_fits(suite, spec: str, config: dict | None) -> None:
    """Build the agent once before the run starts, so a broken agent or checkpoint stops here with one
    line and no run folder; an agent that refuses every episode's robot (``bind_action_space``
    raising) is refused too, and one that refuses some of them is warned about."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the environments)
    from gr_bench.agents import make_agent

    bind = getattr(make_agent(spec, config), "bind_action_space", None)
    if not callable(bind):
        return
    refused = {}
    for env_id in sorted({e.env_id for e in suite.episodes}):
        env = gym.make(env_id, cameras=())
        try:
            bind(env.action_space)
        except ValueError as exc:
            refused[env_id] = str(exc)
        finally:
            env.close()
    if not refused:
        return
    if set(refused) == {e.env_id for e in suite.episodes}:
        raise ValueError(next(iter(refused.values())))
    for env_id, reason in refused.items():
        n = sum(e.env_id == env_id for e in suite.episodes)
        print(f"warning: {n} {env_id} episodes will fail ({reason})", file=sys.stderr)


def _read_secret(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError as exc:
        raise ValueError(f"cannot read the secret file {path!r}: {exc}") from exc


def _read_phrasings(path: str | None) -> dict | None:
    """The hidden split's phrasing bank (JSON, kept with the secret), or None."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise ValueError(f"cannot read the phrasing bank {path!r}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the phrasing bank {path!r} is not JSON: {exc}") from exc


def _ls(args: argparse.Namespace) -> int:
    from collections import Counter

    from gr_bench.blind_flags import listing_line
    from gr_bench.suites import get_suite, suite_names, versions

    print(f"{'suite':18s} {'version':>7s} {'episodes':>8s}  {'per track':28s} hash")
    for name in suite_names():
        for version in versions(name) if args.all else (None,):
            try:
                suite = get_suite(name, version)
            except ImportError as exc:  # a part of the environment package this suite needs is missing
                print(f"{name:18s} unavailable: {exc}")
                break
            from envs.family import family_named

            per_env = ", ".join(
                f"{family_named(env).id} {n}" for env, n in Counter(e.env_id for e in suite.episodes).items()
            )
            print(
                f"{name:18s} {suite.version:>7d} {len(suite.episodes):>8d}  {per_env:28s} {suite.hash[:16]}  "
                f"{suite.description}"
            )
            for track, size in suite.track_sizes().items():  # what `--track` runs, and its hash on the boards
                print(f"{'':18s} {'':>7s} {size:>8d}  {'track ' + track:28s} {suite.track_hash(track)[:16]}")
            flagged = listing_line(suite.episodes)  # leaderboards/blind_flags.json
            if flagged:
                print(f"{'':18s} {'':>7s} {'':>8s}  {flagged}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from gr_bench.report import table, write_reports

    results = _load_results(args.results)
    compare = _load_results(args.compare) if args.compare else None
    if compare and compare["suite"]["hash"] != results["suite"]["hash"]:
        print("warning: the two results come from different suites (hashes differ); rows may not be comparable")
    out = Path(args.out) if args.out else Path(args.results).parent
    md, page = write_reports(results, out, compare)
    print(table(results, compare))
    print(f"report: {md}, {page}")
    return 0


def _load_results(path: str) -> dict:
    from gr_bench.results import validate

    try:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read results file {path!r}: {exc}") from exc
    try:
        validate(results)
    except Exception as exc:  # jsonschema.ValidationError: say which field
        raise ValueError(f"{path!r} is not a gr-bench results file: {getattr(exc, 'message', exc)}") from exc
    return results


def _leaderboard(args: argparse.Namespace) -> int:
    from gr_bench.leaderboard import MANIFEST_PATH, build_manifest, read_submission, validate_submission

    if args.action == "manifest":
        MANIFEST_PATH.write_text(json.dumps(build_manifest(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MANIFEST_PATH}")
        return 0
    if args.action == "build":
        from gr_bench.leaderboard import build_boards

        for path in build_boards(args.submissions, args.boards):
            print(f"wrote {path}")
        return 0
    if not args.results:
        raise ValueError(f"leaderboard {args.action} needs a results file: gr-bench leaderboard {args.action} RESULTS")
    if args.action == "add":
        from gr_bench.leaderboard import add_submission

        path = add_submission(
            read_submission(args.results), args.name or "", args.url or "", args.submissions, replace=args.replace
        )
        print(
            f"filed {path}; run `gr-bench leaderboard build` to regenerate the boards. To publish it, open a pull "
            "request to the gr-bench repository with that file and the rebuilt boards"
        )
        return 0
    results = read_submission(args.results)
    secret = _read_secret(args.secret_file) if args.secret_file else None
    phrasings = _read_phrasings(args.phrasings_file)
    if args.action == "verify":
        from gr_bench.leaderboard import public_vs_hidden, verify_submission

        path = verify_submission(results, args.name or "", secret or "", args.submissions, phrasings=phrasings)
        print(public_vs_hidden(path, results))
        print(f"verified {path} on the hidden split; run `gr-bench leaderboard build` to regenerate the boards")
        return 0
    validate_submission(results, secret=secret, phrasings=phrasings)
    agg = results["aggregates"]["overall"]
    print(
        f"valid: {results['agent']['name']} on {results['suite']['name']} v{results['suite']['version']}, "
        f"{agg['successes']}/{agg['n']} episodes succeeded; every aggregate matches its episode records"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gr-bench", description="Benchmark for language-conditioned manipulation policies."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    play = sub.add_parser(
        "play",
        help="watch the scripted expert do a task (writes a video)",
        epilog=_play_examples(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    envs_help = ", ".join(f"{f.env_id} (scenes {_scene_list(f.scenes)})" for f in _families())
    play.add_argument("--env", help=f"environment (default the first): {envs_help}")
    play.add_argument("--task", help="task name (see `gr-bench tasks`; default: the environment's own)")
    play.add_argument("--scene", help="scene (default: the environment's first training scene)")
    play.add_argument("--seed", type=int, default=0, help="seed of the initial state")
    play.add_argument("--size", type=int, default=200, help="first camera's resolution in pixels (static, head)")
    play.add_argument("--out", default="demo.mp4", help="video file, .mp4 or .gif")
    play.set_defaults(func=_play)
    watch = sub.add_parser(
        "watch",
        help="film one episode of an evaluation run: play it again with the run's agent and write a video",
        epilog="examples:\n  gr-bench watch runs/seen-gr1                       # its first failed episode\n"
        "  gr-bench watch runs/seen-gr1 --episode move_slider_right/A/0 --out slider.mp4\n"
        "  gr-bench watch leaderboards/submissions/seen/v4/random-gr-bench-reference.json   # a board submission\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument(
        "run", help="a run directory written by gr-bench eval, or a results file (results.json, a board's submission)"
    )
    watch.add_argument(
        "--episode", help="an episode id, or a part of one that only one episode has (default: the first failed one)"
    )
    watch.add_argument(
        "--out", help="video file, .mp4 or .gif (default RUN/videos/EPISODE.mp4; runs/videos/AGENT/ for a results file)"
    )
    watch.set_defaults(func=_watch)
    tasks = sub.add_parser("tasks", help="list every environment's tasks with a sample instruction")
    tasks.add_argument("--env", help="only this environment's (an id or a family name)")
    tasks.set_defaults(func=_tasks)
    ev = sub.add_parser(
        "eval",
        help="evaluate an agent on a suite",
        epilog=EVAL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from gr_bench.agents import AGENTS

    ev.add_argument(
        "--agent",
        required=True,
        help=f"a registered agent ({', '.join(AGENTS)}) or module:Class (imported from the installed packages or "
        "the current directory, as `python -m` would); gr1 and gr3 run their shipped reference checkpoint unless "
        "--checkpoint names another",
    )
    ev.add_argument("--agent-config", help="JSON object of keyword arguments for the agent")
    ev.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="one keyword argument for the agent, a JSON value (repeatable), e.g. blind=true for the blind control "
        "(every camera image constant grey), execute_steps=4",
    )
    ev.add_argument(
        "--checkpoint", help="trained agents: a checkpoint, a training run folder, or reference:NAME (shipped)"
    )
    ev.add_argument("--suite", required=True, help="smoke, seen, unseen, ood-instruction or long-horizon")
    ev.add_argument(
        "--suite-version", type=int, help="an earlier released version of the suite (default: the current one)"
    )
    ev.add_argument("--episodes", type=int, help="a deterministic subsample of this many episodes")
    ev.add_argument("--env", help="only episodes of this environment id")
    ev.add_argument("--track", help=f"only one family's track of the suite: {', '.join(f.id for f in _families())}")
    ev.add_argument("--task", help="only episodes with this task (or these, comma-separated)")
    ev.add_argument("--axis", help="only episodes testing this axis")
    ev.add_argument("--category", help="only episodes of this instruction category, e.g. invalid")
    ev.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (results do not depend on it). With 1, agent code runs in this process; with 2 or "
        "more, a worker that crashes fails only its episode (worker_died) and one that ignores --time-limit is killed",
    )
    ev.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="local: this machine's processes; ray: --workers Ray actors, on a local Ray instance or on the cluster "
        "at --address (pip install -e '.[ray]'); the same records either way, and --resume works across them",
    )
    ev.add_argument("--address", help="--backend ray: an existing cluster, e.g. HOST:6379 or ray://HOST:10001")
    ev.add_argument("--out", help="run directory (default runs/SUITE-AGENT)")
    ev.add_argument("--resume", action="store_true", help="finish the run in --out, skipping finished episodes")
    ev.add_argument(
        "--reuse",
        metavar="EARLIER_RUN",
        help="a run directory, results file or leaderboard submission of the same agent and config: its "
        "records of episodes identical to this suite's (same episode JSON, seed included) are imported, not re-run",
    )
    ev.add_argument("--time-limit", type=float, default=600.0, help="seconds per episode before it is failed")
    ev.add_argument(
        "--latency-steps",
        metavar="K[,K...]",
        help="latency-aware evaluation: each action is applied K control steps after the observation it answers "
        "(the robot keeps executing earlier actions, or stays still at first; a chunking agent's earlier chunk "
        "runs on meanwhile); several values run the suite once each into OUT/latency-K and plot success against K",
    )
    ev.add_argument(
        "--split",
        choices=["public", "hidden"],
        default="public",
        help="hidden: the suite's episodes with seeds and unseen variation values drawn from --secret-file, and "
        "phrasings from --phrasings-file when given (for maintainers)",
    )
    ev.add_argument("--secret-file", help="file holding the hidden split's secret")
    ev.add_argument(
        "--phrasings-file",
        help="hidden split: a JSON phrasing bank kept with the secret (task -> phrasings, or task -> category -> "
        "phrasings); covered instructions are drawn from it",
    )
    ev.set_defaults(func=_eval)
    ls = sub.add_parser("ls", help="list suites with their size and content hash")
    ls.add_argument("what", choices=["suites"])
    ls.add_argument("--all", action="store_true", help="every released version, not only the current one")
    ls.set_defaults(func=_ls)
    rep = sub.add_parser("report", help="rebuild the report from a results file, optionally beside another")
    rep.add_argument("results")
    rep.add_argument("--compare", help="a second results file, shown side by side")
    rep.add_argument("--out", help="where to write report.md and report.html (default: beside RESULTS)")
    rep.set_defaults(func=_report)
    board = sub.add_parser(
        "leaderboard",
        help="validate and file submissions, build the boards, or rewrite the released-suite manifest",
        epilog="examples:\n  gr-bench leaderboard validate runs/seen-oracle/results.json\n"
        "  gr-bench leaderboard add runs/seen-oracle/results.json --name 'scripted expert' --url https://...\n"
        "  gr-bench leaderboard add runs/seen-TRACK/results.json --name NAME   # a run of one track (eval --track)\n"
        "  gr-bench leaderboard build         # regenerate leaderboards/boards from the submissions\n"
        "  gr-bench leaderboard manifest      # after releasing a new suite version",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    board.add_argument("action", choices=["validate", "add", "verify", "build", "manifest"])
    board.add_argument("results", nargs="?", help="results file to validate or add")
    board.add_argument("--name", help="add: the submission's name on the board")
    board.add_argument("--url", help="add: a link to the paper or code")
    board.add_argument("--replace", action="store_true", help="add: replace a submission of the same name")
    board.add_argument("--secret-file", help="validate/verify: the hidden split's secret")
    board.add_argument("--phrasings-file", help="validate/verify: the hidden split's phrasing bank, if it had one")
    from gr_bench.leaderboard import BUILT_DIR, SUBMISSIONS_DIR

    board.add_argument(
        "--submissions",
        type=Path,
        default=SUBMISSIONS_DIR,
        help=f"add/verify/build: the submissions folder (default: this gr-bench's own, {SUBMISSIONS_DIR})",
    )
    board.add_argument("--boards", type=Path, default=BUILT_DIR, help=f"build: where the boards go ({BUILT_DIR})")
    board.set_defaults(func=_leaderboard)
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


AGENT_EXTRAS = ("torch", "torchvision", "transformers", "safetensors", "av")  # modules of the [agents] extra


def main(argv: list[str] | None = None) -> int:
    from gr_bench.agents import RunStopped

    # `gr-bench tasks | head` should stop quietly when the pager closes the pipe
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad names, arguments and files: say what was wrong, no traceback
        return _fail(str(error))
    except OSError as error:  # a file or folder that cannot be read or written, a full disk
        where = f" ({error.filename})" if error.filename else ""
        return _fail(f"{error.strerror or error}{where}")
    except ModuleNotFoundError as error:
        if error.name not in AGENT_EXTRAS:
            raise
        return _fail(f"{error}: this command needs the agents' extras: pip install -e '.[agents]'")
    except RunStopped as error:  # e.g. the policy server is gone: what was recorded stays, --resume goes on
        return _fail(str(error))
    except KeyboardInterrupt:  # Ctrl-C: every long command writes durably as it goes
        print(
            f"gr-bench: {args.command} interrupted; what it had finished is kept: run the same command again "
            "to go on (eval: with --resume)",
            file=sys.stderr,
        )
        return 130


def _fail(message: str) -> int:
    print(f"gr-bench: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
