"""Draw and pin `long-horizon` v3's chains: for every chain of each protocol, the first candidate
(``envs.tabletop.chains.candidate``) that is feasible on its realised start. Writes
``envs/tabletop/chains_v3.json``; ``tests/test_chains.py`` re-checks the pins.

    python scripts/pin_chains.py [--chains 1000]
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import gymnasium as gym
from tqdm import tqdm

import envs  # noqa: F401  (registers the ids)
from envs.tabletop.chains import MAX_CANDIDATES, candidate, infeasibility
from envs.tabletop.tracks import CHAIN_PINS, LONG_HORIZON_PROTOCOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=1000, help="chains per protocol")
    parser.add_argument("--out", type=Path, default=CHAIN_PINS)
    args = parser.parse_args()
    env = gym.make("GRBench/Tabletop-v0", cameras=()).unwrapped
    pins: dict[str, list[int]] = {}
    reasons: collections.Counter[str] = collections.Counter()
    for protocol, scenes in LONG_HORIZON_PROTOCOLS:
        pins[protocol] = []
        for index in tqdm(range(args.chains), desc=f"pin {protocol}", unit="chain"):
            for k in range(MAX_CANDIDATES):
                why = infeasibility(env, candidate(protocol, index, k, scenes))
                if why is None:
                    pins[protocol].append(k)
                    break
                # the reason without the block's colour or task name, for the summary
                reasons[" ".join(w for w in why.split() if w not in ("red", "blue", "pink") and "_" not in w)] += 1
            else:
                raise SystemExit(f"no feasible chain for {protocol} #{index} in {MAX_CANDIDATES} candidates")
    summary = {"candidates drawn": sum(len(p) + sum(p) for p in pins.values()), "rejected": dict(reasons)}
    args.out.write_text(json.dumps({"pins": pins, "summary": summary}, indent=None, separators=(",", ":")) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
