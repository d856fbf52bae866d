"""Measure the cloth models MuJoCo offers, to choose the one ``envs/cloth/sim.py`` uses.

For a 20 x 20 sheet (0.3 m, the ``square`` garment) lying on a table: each candidate (integrator,
what the elasticity covers, self-collision, what the table is) is stepped for one simulated second
after a corner is lifted 0.3 m and dropped (``drop``), and the self-collision candidates also
from a sheet folded in half (``folded``: many self-contacts). Reported: physics steps per wall second, simulated
seconds per wall second, contacts, whether it stayed finite, and the largest edge strain at the
end (a sheet should return to its rest lengths). Speeds are ratios on one machine in one run.

    python scripts/cloth_models.py            # writes docs/cloth_models.csv and prints a table
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import mujoco
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "docs" / "cloth_models.csv"
TABLES = {
    "plane": '<geom type="plane" size="1 1 0.1"/>',
    "box": '<geom type="box" size="0.5 0.5 0.02" pos="0 0 -0.02"/>',
}
CANDIDATES = [
    # integrator, timestep, elastic2d, edge equality, selfcollide, table
    ("discrete", 0.01, "both", False, "none", "plane"),  # the choice
    ("discrete", 0.01, "both", False, "none", "box"),
    ("discrete", 0.005, "both", False, "none", "plane"),
    ("discrete", 0.02, "both", False, "none", "plane"),
    ("discrete", 0.01, "stretch", False, "none", "plane"),
    ("discrete", 0.01, "bend", True, "none", "plane"),
    ("discrete", 0.01, "both", False, "sap", "plane"),
    ("discrete", 0.01, "both", False, "bvh", "plane"),
    ("Euler", 0.005, "both", False, "none", "plane"),
    ("Euler", 0.002, "both", False, "none", "plane"),
]


def model(integrator, dt, elastic2d, equality, selfcollide, table) -> mujoco.MjModel:
    edge = '<edge equality="true"/>' if equality else ""
    xml = f"""<mujoco><option timestep="{dt}" integrator="{integrator}" solver="CG" cone="pyramidal"/>
    <size memory="64M"/><worldbody>{TABLES[table]}
    <flexcomp name="cloth" type="grid" count="20 20 1" spacing="0.0158 0.0158 0.05" pos="0 0 0.003"
      radius="0.003" dim="2" mass="0.1">{edge}
      <contact condim="3" friction="0.8" selfcollide="{selfcollide}"/>
      <elasticity young="5e3" poisson="0.2" thickness="0.002" elastic2d="{elastic2d}"/>
    </flexcomp></worldbody></mujoco>"""
    return mujoco.MjModel.from_xml_string(xml)


def measure(candidate, scenario: str) -> dict:
    names = ("integrator", "timestep", "elastic2d", "edge_equality", "selfcollide", "table")
    row = {"scenario": scenario, **dict(zip(names, candidate, strict=True))}
    try:
        m = model(*candidate)
    except ValueError as error:
        return {**row, "error": str(error).splitlines()[0][:100]}
    d = mujoco.MjData(m)
    mujoco.mj_forward(m, d)
    rest = d.flexvert_xpos.copy()
    if scenario == "drop":
        d.qpos[2] += 0.3  # lift vertex 0 (its z slide joint) and let it drop
    else:  # folded in half: the far half laid over the near one, a layer up (many self-contacts)
        q = d.qpos.reshape(-1, 3)
        y = rest[:, 1]
        far = y > 0
        q[far, 1] = -2 * y[far]
        q[far, 2] = 0.006
    steps = int(round(1.0 / m.opt.timestep))
    start = time.perf_counter()
    for _ in range(steps):
        mujoco.mj_step(m, d)
    wall = time.perf_counter() - start
    edges = m.flex_edge[m.flex_edgeadr[0] : m.flex_edgeadr[0] + m.flex_edgenum[0]]
    length = lambda p: np.linalg.norm(p[edges[:, 0]] - p[edges[:, 1]], axis=1)  # noqa: E731
    strain = np.abs(length(d.flexvert_xpos) / length(rest) - 1).max()
    # MuJoCo resets a diverging simulation and warns: count that as not finite
    finite = bool(np.all(np.isfinite(d.qpos))) and not d.warning[mujoco.mjtWarning.mjWARN_BADQACC].number
    return {
        **row,
        "steps_per_s": round(steps / wall),
        "sim_s_per_s": round(1.0 / wall, 2),
        "contacts": d.ncon,
        "finite": finite,
        "max_edge_strain": round(float(strain), 4) if finite else None,
    }


def main() -> None:
    rows = [measure(c, "drop") for c in CANDIDATES]
    rows += [measure(c, "folded") for c in CANDIDATES if c[4] != "none" or c == CANDIDATES[0]]
    keys = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
