"""One agent configuration on the public validation slice (``curve.py``'s: 68 tabletop episodes of
``seen`` v3 re-drawn with a public secret), for levers that need no training, e.g. how a shipped
checkpoint executes its chunks. Resumable: a finished run is read back, not run again.

    python scripts/reference/slice_eval.py --agent gr3 --out runs/levers/gr3-exec8 \\
        --set checkpoint=reference:gr3-tiny --set execute_steps=8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--out", required=True, help="the run folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="agent config (JSON values)")
    parser.add_argument("--episodes", type=int, default=68)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from curve import validation_suite

    from gr_bench.evaluator import evaluate

    config = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    out = Path(args.out)
    if not (out / "results.json").is_file():
        suite = validation_suite(args.episodes, 0, 3)
        evaluate(suite, args.agent, out, agent_config=config, workers=args.workers, resume=out.exists())
    results = json.loads((out / "results.json").read_text())
    overall = results["aggregates"]["overall"]
    print(f"{out} {config}: {overall['successes']}/{overall['n']} (headline)")


if __name__ == "__main__":
    main()
