"""Average the weights of several checkpoints of one training run into a new checkpoint (uniform
weight averaging over the last checkpoints, as SWA's or Polyak's averages, done after training).

    python scripts/average_checkpoints.py RUN/checkpoints/step-0003000 RUN/checkpoints/step-0003500 \\
        RUN/checkpoints/step-0004000 --out RUN-avg

The new checkpoint takes the config of the last one given (its agent, model, normaliser) with
``averaged_from`` added; every checkpoint must hold the same tensors. Integer tensors (counters,
code usage) are taken from the last checkpoint, not averaged.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path


def average(checkpoints: list[Path], out: Path) -> Path:
    import torch
    from safetensors.torch import load_file, save_file

    from agents.train.checkpoint import CONFIG, WEIGHTS, read_config

    if len(checkpoints) < 2:
        raise ValueError("give at least two checkpoints to average")
    configs = [read_config(c) for c in checkpoints]
    agents = {c.get("agent") for c in configs}
    if len(agents) != 1:
        raise ValueError(f"the checkpoints are of different agents ({sorted(map(str, agents))}); average one run's")
    weights = [load_file(str(Path(c) / WEIGHTS)) for c in checkpoints]
    names = set(weights[0])
    for c, w in zip(checkpoints[1:], weights[1:], strict=True):
        if set(w) != names or any(w[k].shape != weights[0][k].shape for k in names):
            raise ValueError(f"{c} does not hold the same tensors as {checkpoints[0]}: average one run's checkpoints")
    averaged = {}
    for k in names:
        last = weights[-1][k]
        if last.is_floating_point():
            averaged[k] = torch.stack([w[k].double() for w in weights]).mean(0).to(last.dtype).contiguous()
        else:
            averaged[k] = last
    config = dict(configs[-1], averaged_from=[str(c) for c in checkpoints])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")  # written whole, then renamed into place
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    save_file(averaged, str(tmp / WEIGHTS))
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint folders of one run, oldest first")
    parser.add_argument("--out", type=Path, required=True, help="the averaged checkpoint's folder (must not exist)")
    args = parser.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} exists; choose another --out", file=sys.stderr)
        return 2
    try:
        out = average(args.checkpoints, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"averaged {len(args.checkpoints)} checkpoints into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
