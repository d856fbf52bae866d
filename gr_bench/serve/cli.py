"""``gr-bench serve``: a registered agent (or ``module:Class``) as a policy server."""

from __future__ import annotations

import argparse
import os
import sys

SERVE_EXAMPLES = """examples:
  gr-bench serve --agent gr3 --port 8000                         # the shipped GR-3 reference
  gr-bench serve --agent gr3 --checkpoint runs/train/gr3 --host 0.0.0.0 --token-file secret.txt
  gr-bench serve --agent my_pkg.policy:MyAgent --port 8000       # an outside model, in its own environment
  gr-bench eval --agent ws://127.0.0.1:8000 --suite smoke        # evaluate what the server serves
  curl http://127.0.0.1:8000/healthz                             # OK while it runs
"""


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    os.environ.setdefault("MUJOCO_GL", "egl")
    if os.getcwd() not in sys.path:  # module:Class agents from the current folder, as gr-bench eval finds them
        sys.path.append(os.getcwd())
    try:
        from gr_bench.serve.server import PolicyServer
    except ImportError as exc:
        raise ValueError(f"gr-bench serve needs its extras: pip install -e '.[serve]' ({exc})") from exc
    from gr_bench.agents import REMOTE_SCHEMES, config_from_options

    if args.agent.startswith(REMOTE_SCHEMES):
        raise ValueError("gr-bench serve serves an agent by name or module:Class, not another server")
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if args.max_batch < 1:
        raise ValueError(f"--max-batch must be at least 1, got {args.max_batch}")
    if args.batch_wait_ms < 0:
        raise ValueError(f"--batch-wait-ms must be 0 or more, got {args.batch_wait_ms}")
    if not 1 <= args.max_message_mib <= 4096:
        raise ValueError(f"--max-message-mib must be in 1..4096, got {args.max_message_mib}")
    config, _ = config_from_options(args.agent, args.agent_config, args.set, args.checkpoint)
    token = None
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {args.token_file!r}: {exc}") from exc
        if not token:
            raise ValueError(f"the token file {args.token_file!r} is empty")
    token = token or os.environ.get("GR_BENCH_TOKEN") or None
    server = PolicyServer(
        args.agent,
        config,
        host=args.host,
        port=args.port,
        token=token,
        max_batch=args.max_batch,
        batch_wait=args.batch_wait_ms / 1000,
        max_message_bytes=args.max_message_mib * 2**20,
    )
    served = [e["env_id"] for e in server.metadata["environments"] if e["served"]]
    if not served:
        raise ValueError(f"agent {args.agent!r} drives none of the registered environments' robots")

    async def main():
        task = asyncio.ensure_future(server.serve())
        while not server._ready.is_set() and not task.done():
            await asyncio.sleep(0.05)
        if not task.done():
            print(
                f"serving {args.agent} on {server.url} (health: http://{args.host}:{server.port}/healthz; "
                f"{'token required' if token else 'no token'}; environments: {', '.join(served)})",
                flush=True,
            )
        await task

    try:
        asyncio.run(main())
    except OSError as exc:
        raise ValueError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve an agent over WebSocket + msgpack (gr-bench eval --agent ws://HOST:PORT, openpi-client)",
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--agent", required=True, help="a registered agent or module:Class, as for gr-bench eval")
    p.add_argument("--checkpoint", help="trained agents: a checkpoint, a training run folder, or reference:NAME")
    p.add_argument("--agent-config", help="JSON object of keyword arguments for the agent")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="one keyword argument (repeatable)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000, openpi's)")
    p.add_argument(
        "--token-file", help="file holding a shared secret clients must send (default: $GR_BENCH_TOKEN if set)"
    )
    p.add_argument("--max-batch", type=int, default=8, help="most concurrent act requests in one model call")
    p.add_argument(
        "--batch-wait-ms", type=float, default=0.0, help="wait this long for more requests before a model call"
    )
    p.add_argument("--max-message-mib", type=int, default=64, help="larger requests close their connection")
    p.set_defaults(func=_serve)
