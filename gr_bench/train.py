"""``gr-bench train``: train a reference agent (GR-1, GR-2, GR-3) on collected data, video or vision-language data."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gr_bench.registry import trainable

TRAINABLE = trainable()  # agent -> "module:function" building (model, dataset, checkpoint_config)

EXAMPLES = """examples:
  gr-bench train --recipe gr3-tiny --workers 2     # the reference GR-3: collect, train (rerun to resume)
  gr-bench collect --suite seen --episodes-per-task 50 --tasks open_drawer,close_drawer --out data/drawer
  gr-bench train --agent gr1 --stage finetune --data data/drawer --steps 4000 --out runs/gr1-drawer
  gr-bench train --agent gr1 --stage pretrain --videos data/drawer --steps 2000 --out runs/gr1-video
  gr-bench train --agent gr1 --stage finetune --data data/drawer --init runs/gr1-video --out runs/gr1-ft
  gr-bench train --agent gr1 --config paper --set history=10 --device cuda ...
  gr-bench train --agent vqgan --videos data/drawer --steps 3000 --out runs/vqgan      # GR-2's tokenizer first
  gr-bench train --agent gr2 --stage pretrain --videos data/drawer --tokenizer runs/vqgan --out runs/gr2-video
  gr-bench train --agent gr2 --stage finetune --data data/drawer --init runs/gr2-video --out runs/gr2-ft
  torchrun --nproc_per_node 2 -m gr_bench.cli train --agent gr1 --data data/drawer --out runs/ddp
  gr-bench eval --agent gr1 --checkpoint runs/gr1-drawer --suite seen --task open_drawer
  gr-bench collect-vl --scenes 1500 --out data/vl
  gr-bench train --agent gr3 --data data/drawer --vl-data data/vl --steps 40000 --out runs/gr3-cotrained
  gr-bench train --agent gr3 --data data/arm --data data/mobile --steps 60000 --out runs/gr3-two-robots
  gr-bench train --agent gr3 --stage fewshot --data data/novel --init runs/gr3-cotrained --steps 1000 --out runs/gr3-fs
"""


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    overrides = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes key=value (a JSON value), got {item!r}")
        overrides[key] = _value(value)
    return overrides


def invalid_requests(robot: str) -> tuple[str, ...]:
    """The training bank of invalid requests of the environment family a GR-3 robot adapter serves
    (the family whose robot is the adapter's dataset ``robot_type``): things never in its scenes,
    named differently from the requests its suites evaluate."""
    import envs  # noqa: F401  (registers the built-in families)
    from agents.gr3.adapters import ADAPTERS
    from envs.family import family_for_robot

    if robot not in ADAPTERS:
        raise ValueError(f"no bank of invalid requests for robot {robot!r}: GR-3 has adapters {sorted(ADAPTERS)}")
    return tuple(family_for_robot(ADAPTERS[robot].robot_type).invalid_training_requests())


def build_for_training(
    agent: str,
    *,
    config: str,
    overrides: dict[str, Any],
    stage: str,
    data: list[str] | None = None,
    videos: list[str] | None = None,
    tasks: list[str] | None = None,
    vl_data: str | None = None,
    init: str | None = None,
    robot_data: str | None = None,
    tokenizer: str | None = None,
):
    """(model, dataset, checkpoint_config) of a trainable agent's stage, from ``gr-bench train``'s options.

    Which options an agent's trainer takes is read off its signature: an option it has no parameter
    for is refused with one line; a trainer with an ``invalid_pool`` parameter gets every robot's
    training bank of impossible requests. ``--init`` reaches a trainer that has an ``init`` parameter (GR-3's
    fewshot stage, which requires it; GR-2, whose model is the checkpoint's) and is refused at ``--stage
    fewshot`` by one that has none; the training loop loads its weights either way."""
    import inspect

    from gr_bench.registry import resolve_name

    if agent not in TRAINABLE:
        from envs.errors import unknown_name_error

        raise unknown_name_error("trainable agent", agent, TRAINABLE)
    build = resolve_name(TRAINABLE[agent])
    accepted = inspect.signature(build).parameters
    # options only some agents have are passed only when given
    extra: dict[str, Any] = {"vl_data": vl_data} if vl_data else {}
    if stage == "fewshot" or (init and "init" in accepted):
        extra["init"] = init
    if robot_data:
        extra["robot_data"] = robot_data
    if tokenizer:
        extra["tokenizer"] = tokenizer
    flags = {
        "vl_data": "--vl-data",
        "init": "--stage fewshot",
        "robot_data": "--robot-data",
        "tokenizer": "--tokenizer",
    }
    refused = [flags[name] for name in extra if name not in accepted]
    if refused:
        raise ValueError(f"{agent}'s training takes no {', '.join(refused)} (gr-bench train --help says whose)")
    if "invalid_pool" in accepted:
        from agents.gr3.adapters import ADAPTERS

        # every robot's bank: the model keeps those of the robots it serves
        extra["invalid_pool"] = {robot: list(invalid_requests(robot)) for robot in ADAPTERS}
    return build(config=config, overrides=overrides, stage=stage, data=data, videos=videos, tasks=tasks, **extra)


def _train(args: argparse.Namespace) -> int:
    from agents.train.loop import TrainConfig, train

    if args.recipe:
        from gr_bench.recipes import run_recipe

        run_recipe(
            args.recipe,
            args.out,
            args.data_root,
            workers=args.workers,
            threads=args.threads,
            max_minutes=args.max_minutes,
        )
        return 0
    if not args.agent:
        raise ValueError(f"gr-bench train needs --agent (one of {sorted(TRAINABLE)}) or --recipe NAME")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    # options are checked before the data is loaded
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        grad_clip=args.grad_clip,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        device=args.device,
        num_workers=args.num_workers,
    )
    torch.manual_seed(config.seed)  # --seed also seeds the model's initial weights
    model, dataset, checkpoint_config = build_for_training(
        args.agent,
        config=args.config,
        overrides=parse_overrides(args.set),
        stage=args.stage,
        data=args.data,
        videos=args.videos,
        tasks=args.tasks.split(",") if args.tasks else None,
        vl_data=args.vl_data,
        init=args.init,
        robot_data=args.robot_data,
        tokenizer=args.tokenizer,
    )
    out = args.out or f"runs/train-{args.agent}-{args.stage}"
    last = train(
        model, dataset, config, out, checkpoint_config, resume=args.resume, init=args.init, max_minutes=args.max_minutes
    )
    print(f"last checkpoint: {last}")
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():  # under torchrun: leave no gloo/NCCL threads behind
        dist.destroy_process_group()
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a reference agent (video pre-training or fine-tuning on demonstrations)",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from agents.reference.recipes import RECIPES

    p.add_argument("--agent", help=f"one of {sorted(TRAINABLE)}")
    p.add_argument(
        "--recipe",
        help=f"a reference recipe ({', '.join(RECIPES)}): collect its data, then train, resuming where a killed "
        "call stopped; --out is its work folder (default runs/reference/NAME)",
    )
    p.add_argument("--data-root", help="--recipe: the folder of the collected data (default runs/reference/data)")
    p.add_argument("--workers", type=int, default=1, help="--recipe: collection worker processes")
    p.add_argument("--config", default="tiny", help="model preset (tiny, paper) or a JSON file of fields")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a model config field (repeatable)")
    p.add_argument(
        "--stage",
        default="finetune",
        choices=["pretrain", "finetune", "fewshot"],
        help="pretrain (GR-1, GR-2: video), finetune (demonstrations), fewshot (GR-3: 'human' data, no wrist view "
        "or state)",
    )
    p.add_argument(
        "--data",
        action="append",
        help="finetune: a dataset made by gr-bench collect; repeat it for several robots (GR-3) or to join one "
        "robot's datasets, e.g. clean and --action-noise ones, normalised as its first; GR-2 pretrain, vqgan: its "
        "frames and instructions too (repeatable)",
    )
    p.add_argument("--videos", action="append", help="pretrain: a folder of videos or a dataset (repeatable)")
    p.add_argument("--tasks", help="finetune: only episodes of these tasks (comma-separated)")
    p.add_argument(
        "--robot-data", help="GR-3 fewshot: robot demonstrations trained together with the 'human' ones in --data"
    )
    p.add_argument(
        "--vl-data", help="GR-3: co-train on this vision-language data (gr-bench collect-vl); omit for no co-training"
    )
    p.add_argument(
        "--init",
        help="initialise from this checkpoint or run (e.g. after pre-training; GR-2: the model, its config and "
        "tokenizer are the checkpoint's)",
    )
    p.add_argument(
        "--tokenizer",
        help="GR-2: the frozen VQGAN image tokenizer, a checkpoint or run of gr-bench train --agent vqgan "
        "(not needed with --init, whose checkpoint carries it)",
    )
    p.add_argument("--out", help="run folder (default runs/train-AGENT-STAGE)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) once this much wall-clock time is spent")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (bf16 autocast on CUDA)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per process (0: torch's default)")
    p.set_defaults(func=_train)
