"""The symbolic state of the play table, CALVIN-style, and how it becomes a physical one.

A symbolic state says where each block is (``table``, ``slider_left``, ``slider_right``, ``drawer``,
``grasped`` or ``on_<colour>``), whether the slider door is left or right, the drawer open or
closed, and the two lights. Task preconditions are written on it, long-horizon chains are sampled
from it, and ``realize`` turns it into a randomised physical initial state.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from envs.robots.panda import GRIPPER_OPEN
from envs.tabletop.scenes import BLOCK_COLOURS, CABINET_Y, DRAWER_Y
from envs.tabletop.sim import SLIDER_MIDDLE, PlayTableSim, SceneSnapshot
from envs.utils.rotations import topdown_mat, yaw_to_quat

LOCATIONS = ("table", "slider_left", "slider_right", "drawer", "grasped") + tuple(f"on_{c}" for c in BLOCK_COLOURS)
TABLE_X = (-0.36, 0.36)  # metres: where blocks may start on the desk
TABLE_Y = (-0.1, -0.04)  # the palm, 20 cm long, must clear the cabinet door behind
MIN_BLOCK_GAP = 0.10  # metres between block centres on the desk
FIXTURE_CLEARANCE = 0.1  # metres between a block and the button or switch
HOME_TCP = np.array([0.0, -0.15, 0.25])  # metres
HOME_YAW = np.pi / 2  # fingers close along world x
HOLD_TCP_Z = 0.16  # metres: height of a block held at the start of an episode
SETTLE_TIME = 0.25  # seconds of physics after placing objects


@dataclass(frozen=True)
class SymbolicState:
    slider: str = "right"  # "left" | "right": where the sliding door is
    drawer: str = "closed"  # "open" | "closed"
    lightbulb: int = 0
    led: int = 0
    red: str = "table"
    blue: str = "table"
    pink: str = "table"

    def __post_init__(self):
        if self.slider not in ("left", "right"):
            raise ValueError(f"slider must be 'left' or 'right', got {self.slider!r}")
        if self.drawer not in ("open", "closed"):
            raise ValueError(f"drawer must be 'open' or 'closed', got {self.drawer!r}")
        if self.lightbulb not in (0, 1) or self.led not in (0, 1):
            raise ValueError(f"lightbulb and led must be 0 or 1, got {self.lightbulb!r}, {self.led!r}")
        for colour in BLOCK_COLOURS:
            loc = self.block(colour)
            if loc not in LOCATIONS or loc == f"on_{colour}":
                raise ValueError(f"{colour} block location must be one of {LOCATIONS}, got {loc!r}")

    def block(self, colour: str) -> str:
        return getattr(self, colour)

    @property
    def grasped(self) -> str | None:
        held = [c for c in BLOCK_COLOURS if self.block(c) == "grasped"]
        return held[0] if held else None

    @property
    def stacked(self) -> tuple[str, str] | None:
        """(top, bottom) colours of a stack, if any."""
        for c in BLOCK_COLOURS:
            if self.block(c).startswith("on_"):
                return c, self.block(c)[3:]
        return None

    def free_top(self, colour: str) -> bool:
        return all(self.block(c) != f"on_{colour}" for c in BLOCK_COLOURS)

    def reachable(self, colour: str) -> bool:
        """The block can be grasped from where it is."""
        loc = self.block(colour)
        if loc == "table":
            return self.free_top(colour)
        if loc.startswith("slider_"):
            # the door covers the compartment on its own side
            return loc != f"slider_{self.slider}"
        if loc == "drawer":
            return self.drawer == "open"
        return loc.startswith("on_")

    @property
    def open_compartment_free(self) -> bool:
        """No block stands in the cabinet compartment that the door leaves open."""
        open_side = "left" if self.slider == "right" else "right"
        return all(self.block(c) != f"slider_{open_side}" for c in BLOCK_COLOURS)

    def as_dict(self) -> dict:
        return asdict(self)

    def is_valid(self) -> bool:
        blocks = [self.block(c) for c in BLOCK_COLOURS]
        if sum(b == "grasped" for b in blocks) > 1:
            return False
        if sum(b.startswith("on_") for b in blocks) > 1:
            return False
        for side in ("slider_left", "slider_right"):
            if blocks.count(side) > 1:
                return False
        if blocks.count("drawer") > 2:
            return False
        stack = self.stacked
        return stack is None or self.block(stack[1]) == "table"


def sample_symbolic_state(rng: np.random.Generator) -> SymbolicState:
    """A random valid symbolic state, in proportions that give every task enough initial states."""
    while True:
        locations = {}
        for colour in BLOCK_COLOURS:
            locations[colour] = str(
                rng.choice(["table", "slider_left", "slider_right", "drawer"], p=[0.6, 0.12, 0.12, 0.16])
            )
        on_table = [c for c in BLOCK_COLOURS if locations[c] == "table"]
        roll = rng.random()
        if on_table and roll < 0.2:
            locations[str(rng.choice(on_table))] = "grasped"
        elif len(on_table) >= 2 and roll < 0.4:
            top, bottom = rng.choice(on_table, size=2, replace=False)
            locations[str(top)] = f"on_{bottom}"
        state = SymbolicState(
            slider=str(rng.choice(["left", "right"])),
            drawer=str(rng.choice(["open", "closed"])),
            lightbulb=int(rng.integers(2)),
            led=int(rng.integers(2)),
            **locations,
        )
        if state.is_valid():
            return state


def classify(snapshot: SceneSnapshot, sim: PlayTableSim) -> SymbolicState | None:
    """Read the symbolic state off the physical one; None if a block is somewhere unnamed."""
    locations = {}
    for colour in BLOCK_COLOURS:
        touch = snapshot.touching[colour]
        pos = snapshot.block_pos[colour]
        below = [c for c in BLOCK_COLOURS if f"block_{c}" in touch and snapshot.block_pos[c][2] < pos[2] - 0.015]
        if snapshot.held(colour):
            loc = "grasped"
        elif "slider" in touch:
            loc = "slider_left" if pos[0] < sim.scene.cabinet_x else "slider_right"
        elif "drawer" in touch:
            loc = "drawer"
        elif below:
            loc = f"on_{below[0]}"
        elif "table" in touch:
            loc = "table"
        else:
            loc = "unknown"
        locations[colour] = loc
    if "unknown" in locations.values():
        return None
    return SymbolicState(
        slider="left" if snapshot.slider > SLIDER_MIDDLE else "right",
        drawer="open" if snapshot.drawer > 0.09 else "closed",
        lightbulb=snapshot.lightbulb,
        led=snapshot.led,
        **locations,
    )


class InitialStateError(RuntimeError):
    """No physical state could be built for a symbolic one."""


def realize(sim: PlayTableSim, state: SymbolicState, rng: np.random.Generator, home_q: np.ndarray) -> None:
    """Build a randomised physical state that matches ``state`` and let it settle."""
    scene = sim.scene
    data = sim.data
    # start from a blank simulator so that nothing from an earlier episode (warm starts, controls)
    # leaks into this one: the same seed then gives the same episode in any process
    mujoco.mj_resetData(sim.model, data)
    sim.set_joint("slider", rng.uniform(0.29, 0.34) if state.slider == "left" else rng.uniform(0.0, 0.05))
    drawer = rng.uniform(0.14, 0.18) if state.drawer == "open" else rng.uniform(0.0, 0.02)
    sim.set_joint("drawer", drawer)
    sim.set_joint("button", 0.0)
    sim.set_joint("switch", rng.uniform(0.065, 0.08) if state.lightbulb else rng.uniform(0.0, 0.015))
    sim.arm.place(data, home_q, gripper_open=True)

    # blocks on the desk first, so stacks and the held block can refer to them
    placed: dict[str, tuple[np.ndarray, float]] = {}
    obstacles = [np.array(scene.button_xy), np.array(scene.switch_xy)]
    table_blocks = [c for c in BLOCK_COLOURS if state.block(c) in ("table", "grasped")]
    for colour in table_blocks:
        for _ in range(200):
            xy = np.array([rng.uniform(*TABLE_X), rng.uniform(*TABLE_Y)])
            if all(
                abs(xy[0] - o[0]) > FIXTURE_CLEARANCE or abs(xy[1] - o[1]) > FIXTURE_CLEARANCE for o in obstacles
            ) and all(np.linalg.norm(xy - p[:2]) > MIN_BLOCK_GAP for p, _ in placed.values()):
                break
        else:
            raise InitialStateError("could not find free places for the blocks on the desk")
        half = scene.half_extents(colour)
        placed[colour] = (np.array([xy[0], xy[1], half[2]]), rng.uniform(-np.pi / 2, np.pi / 2))

    drawer_slots = iter(rng.permutation([-0.045, 0.045]))
    for colour in BLOCK_COLOURS:
        loc = state.block(colour)
        half = scene.half_extents(colour)
        if loc.startswith("slider_"):
            x = sim.compartment_x(loc[len("slider_") :]) + rng.uniform(-0.04, 0.04)
            y = CABINET_Y - 0.04 + rng.uniform(-0.01, 0.01)
            placed[colour] = (np.array([x, y, 0.02 + half[2]]), rng.uniform(-0.3, 0.3))
        elif loc == "drawer":
            x = scene.drawer_x + next(drawer_slots) + rng.uniform(-0.01, 0.01)
            # in the middle of the part that comes out from under the desk, turned across the drawer
            # so the gripper's long palm lies along the desk edge: between the desk's edge and the
            # drawer's front wall there is room for the palm only when it is nearly parallel to them
            y = DRAWER_Y - drawer + rng.uniform(-0.055, -0.035)
            placed[colour] = (np.array([x, y, -0.12 + half[2]]), np.pi / 2 + rng.uniform(-0.15, 0.15))
    for colour in BLOCK_COLOURS:
        loc = state.block(colour)
        if loc.startswith("on_"):
            base_pos, base_yaw = placed[loc[3:]]
            half = scene.half_extents(colour)
            base_half = scene.half_extents(loc[3:])
            pos = base_pos + np.array(
                [rng.uniform(-0.005, 0.005), rng.uniform(-0.005, 0.005), base_half[2] + half[2] + 0.001]
            )
            placed[colour] = (pos, base_yaw + rng.uniform(-0.2, 0.2))

    held = state.grasped
    if held is not None:
        # the arm holds the block above where it would stand on the desk
        pos, yaw = placed[held]
        tcp = np.array([pos[0], pos[1] - 0.05, HOLD_TCP_Z])
        grip_yaw = HOME_YAW + rng.uniform(-0.4, 0.4)
        q = home_q
        for _ in range(5):
            sim.arm.place(data, q, gripper_open=False)
            sim.forward()
            q = sim.arm.solve_ik(data, tcp, topdown_mat(grip_yaw), iterations=20)
        sim.arm.place(data, q, gripper_open=False)
        half = scene.half_extents(held)
        data.qpos[sim.arm.finger_qpos_ids] = min(half[1], GRIPPER_OPEN)
        # the block's y axis lies along the fingers' closing axis, its centre between the pads
        placed[held] = (tcp + np.array([0.0, 0.0, 0.012]), grip_yaw)

    for colour, (pos, yaw) in placed.items():
        sim.set_block_pose(colour, pos, yaw_to_quat(yaw))
    sim.forward()
    sim.reset_lights(state.led, state.lightbulb)
    sim.step(int(round(SETTLE_TIME / sim.model.opt.timestep)))
    data.time = 0.0
    sim.last_gripper_action = -1.0 if held is not None else 1.0
