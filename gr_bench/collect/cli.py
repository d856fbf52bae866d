"""``gr-bench collect``: the command line over ``gr_bench.collect.collect``."""

from __future__ import annotations

import argparse
import os

from gr_bench.collect.spec import VARIATION_PROB

DESCRIPTION = (
    "Roll out the scripted expert on the suite's tasks in its training scenes, with training phrasings "
    "and training-range visual variations; keep the successful episodes and write them as a LeRobot v3.0 "
    "dataset. Rerun a killed collection with the same command to resume it."
)
EXAMPLES = """examples:
  gr-bench collect --suite seen --episodes-per-task 50 --out data/seen --workers 2
  gr-bench collect --suite seen --env FAMILY --episodes-per-task 10 --out data/other  # another family's tasks
  gr-bench collect --suite seen --episodes-per-task 2 --tasks open_drawer,close_drawer --out /tmp/d
  gr-bench collect --suite seen --episodes-per-task 50 --action-noise 0.3 --out data/seen-dart  # recoveries
  gr-bench collect --suite long-horizon --episodes-per-task 20 --scenes A,B,C,D --out data/abcd
  (rerun a killed collection with the same command: it resumes from the staged episodes)
"""


def _command(args: argparse.Namespace) -> int:
    from gr_bench.collect import collect

    os.environ.setdefault("MUJOCO_GL", "egl")
    collection = collect(
        args.suite,
        args.episodes_per_task,
        args.out,
        tasks=_names(args.tasks),
        scenes=_names(args.scenes),
        workers=args.workers,
        size=args.size,
        gripper_size=args.gripper_size,
        variation_prob=args.variation_prob,
        env=args.env,
        action_noise=args.action_noise,
    )
    print(
        f"{collection['episodes']} episodes, {collection['frames']} frames in {args.out} (LeRobot v3.0); "
        f"{len(collection['failed_attempts'])} failed rollouts replaced"
    )
    for group, got in collection["short"].items():
        print(f"warning: {group}: only {got} episodes (too many failed rollouts)")
    return 0


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="record scripted-expert demonstrations as a LeRobot v3 dataset",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", required=True, help="whose tasks and training scenes: seen, smoke, ...")
    parser.add_argument("--episodes-per-task", type=int, required=True, help="successful episodes per task")
    parser.add_argument("--out", required=True, help="dataset folder (new, empty, or an interrupted collection)")
    parser.add_argument("--tasks", help="comma-separated task names (default: every task of the suite)")
    parser.add_argument("--scenes", help="comma-separated scenes (default: the suite's training scenes)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (the dataset does not depend on it)")
    parser.add_argument(
        "--env", help="whose episodes of the suite: an environment id or family name (default: the first family)"
    )
    parser.add_argument(
        "--size", type=int, help="the main camera's resolution, pixels (default: the family's, e.g. 200 static)"
    )
    parser.add_argument(
        "--gripper-size",
        type=int,
        help="the gripper or wrist cameras' resolution, pixels (default: the family's, e.g. 84 gripper)",
    )
    parser.add_argument(
        "--variation-prob", type=float, default=VARIATION_PROB, help="chance each visual axis is varied per episode"
    )
    parser.add_argument(
        "--action-noise",
        type=float,
        default=0.0,
        help="perturbed demonstrations (DART): execute the expert's action plus correlated noise of this std "
        "(action units), record the expert's own action; 0 (default) records clean rollouts",
    )
    parser.set_defaults(func=_command)
