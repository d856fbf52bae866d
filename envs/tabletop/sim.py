"""The play table's simulation: one compiled scene, its named state and the light logic.

Everything the tasks, the expert and the observations need is read here through named accessors,
so no other module indexes ``qpos`` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from envs.errors import PhysicsError
from envs.robots.panda import PandaArm
from envs.tabletop.scenes import BLOCK_COLOURS, CABINET_Y, Scene, build_model
from envs.utils.appearance import Appearance
from envs.utils.rotations import mat_to_euler, quat_to_mat

PHYSICS_DT = 1 / 480  # seconds, MuJoCo timestep (set in play_table.xml)
N_SUBSTEPS = 16  # physics steps per control step
CONTROL_DT = PHYSICS_DT * N_SUBSTEPS  # seconds: 30 Hz control, as CALVIN
SLIDER_MIDDLE = 0.17  # metres: the door is 'left' past this
BUTTON_PRESSED = 0.008  # metres of button travel that count as a press
SWITCH_ON = 0.05  # metres: the bulb turns on past this switch position ...
SWITCH_OFF = 0.03  # ... and off below this one (hysteresis)
LED_ON_RGBA = (0.2, 1.0, 0.25, 1.0)
LED_OFF_RGBA = (0.1, 0.25, 0.1, 1.0)
BULB_ON_RGBA = (1.0, 0.9, 0.2, 1.0)
BULB_OFF_RGBA = (0.55, 0.55, 0.45, 1.0)
MAX_QVEL = 1e3  # anything faster than this is a physics blow-up

# contact labels for the surfaces a block can rest on
SURFACE_GEOMS = {"table_top": "table", "slider_floor": "slider", "drawer_floor": "drawer"}
# model fields that the unseen-scene variations (envs/tabletop/variations.py) write; their compiled
# values are kept so that every reset can put the scene back exactly as it was built
VISUAL_FIELDS = ("geom_rgba", "mat_rgba", "light_dir", "light_diffuse", "cam_pos", "cam_quat", "body_pos")


@dataclass(frozen=True)
class SceneSnapshot:
    """What the success oracles look at: articulation, lights, block poses and contacts."""

    slider: float  # metres the door has moved left
    drawer: float  # metres the drawer is pulled out
    button: float  # metres the button is pressed in
    switch: float  # metres the switch knob is pushed back
    lightbulb: int
    led: int
    block_pos: dict[str, np.ndarray]
    block_mat: dict[str, np.ndarray]
    touching: dict[str, frozenset[str]]  # colour -> labels: table, slider, drawer, furniture, gripper, robot, block_<c>

    def held(self, colour: str) -> bool:
        """In the gripper and touching nothing but the robot."""
        touch = self.touching[colour]
        return "gripper" in touch and not (touch - {"gripper", "robot"})

    def resting_on(self, colour: str, surface: str) -> bool:
        return surface in self.touching[colour] and "gripper" not in self.touching[colour]


class PlayTableSim(Appearance):
    """One scene of the play table: model, data, arm and the lights' logic."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self.model = build_model(scene)
        self.data = mujoco.MjData(self.model)
        self.arm = PandaArm(self.model)
        m = self.model
        self._qadr = {name: m.joint(f"{name}_joint").qposadr[0] for name in ("slider", "drawer", "button", "switch")}
        self._block_qadr = {c: m.joint(f"block_{c}").qposadr[0] for c in BLOCK_COLOURS}
        self._block_dadr = {c: m.joint(f"block_{c}").dofadr[0] for c in BLOCK_COLOURS}
        self._block_geom = {m.geom(f"block_{c}").id: c for c in BLOCK_COLOURS}
        self._led_geom = m.geom("led").id
        self._bulb_geom = m.geom("lightbulb").id
        # label of every geom that a block can touch
        self._geom_label: dict[int, str] = {}
        for g in range(m.ngeom):
            name = m.geom(g).name
            body = m.geom_bodyid[g]
            if name in SURFACE_GEOMS:
                self._geom_label[g] = SURFACE_GEOMS[name]
            elif g in self.arm.finger_geoms:
                self._geom_label[g] = "gripper"
            elif body in self.arm.robot_bodies:
                self._geom_label[g] = "robot"
            elif g in self._block_geom:
                self._geom_label[g] = f"block_{self._block_geom[g]}"
            else:
                self._geom_label[g] = "furniture"
        self.led = 0
        self.lightbulb = 0
        self._button_was_pressed = False
        self.last_gripper_action = 1.0
        self._remember_appearance(VISUAL_FIELDS)

    # --- named state -----------------------------------------------------------------------
    def joint(self, name: str) -> float:
        return float(self.data.qpos[self._qadr[name]])

    def set_joint(self, name: str, value: float) -> None:
        self.data.qpos[self._qadr[name]] = value

    def block_pose(self, colour: str) -> tuple[np.ndarray, np.ndarray]:
        adr = self._block_qadr[colour]
        return self.data.qpos[adr : adr + 3].copy(), quat_to_mat(self.data.qpos[adr + 3 : adr + 7])

    def set_block_pose(self, colour: str, pos: np.ndarray, quat: np.ndarray) -> None:
        adr, dadr = self._block_qadr[colour], self._block_dadr[colour]
        self.data.qpos[adr : adr + 3] = pos
        self.data.qpos[adr + 3 : adr + 7] = quat
        self.data.qvel[dadr : dadr + 6] = 0.0

    def body_pos(self, name: str) -> np.ndarray:
        return self.data.body(name).xpos.copy()

    def geom_pos(self, name: str) -> np.ndarray:
        return self.data.geom(name).xpos.copy()

    def compartment_x(self, side: str) -> float:
        """Centre x of the cabinet's left or right compartment, metres."""
        return self.scene.cabinet_x + (-0.125 if side == "left" else 0.125)

    def open_compartment(self) -> str:
        """The compartment the sliding door does not cover."""
        return "right" if self.joint("slider") > SLIDER_MIDDLE else "left"

    # --- contacts and snapshots ------------------------------------------------------------
    def block_contacts(self) -> dict[str, frozenset[str]]:
        touching: dict[str, set[str]] = {c: set() for c in BLOCK_COLOURS}
        data = self.data
        for i in range(data.ncon):
            contact = data.contact[i]
            if contact.dist > 1e-3:
                continue
            g1, g2 = contact.geom1, contact.geom2
            if g1 in self._block_geom:
                touching[self._block_geom[g1]].add(self._geom_label[g2])
            if g2 in self._block_geom:
                touching[self._block_geom[g2]].add(self._geom_label[g1])
        return {c: frozenset(t) for c, t in touching.items()}

    def snapshot(self) -> SceneSnapshot:
        poses = {c: self.block_pose(c) for c in BLOCK_COLOURS}
        return SceneSnapshot(
            slider=self.joint("slider"),
            drawer=self.joint("drawer"),
            button=self.joint("button"),
            switch=self.joint("switch"),
            lightbulb=self.lightbulb,
            led=self.led,
            block_pos={c: p for c, (p, _) in poses.items()},
            block_mat={c: m for c, (_, m) in poses.items()},
            touching=self.block_contacts(),
        )

    def scene_obs(self) -> np.ndarray:
        """CALVIN's 24-D scene state: slider, drawer, button, switch, lightbulb, LED, then the
        position and euler angles of the red, blue and pink blocks."""
        parts = [
            [
                self.joint("slider"),
                self.joint("drawer"),
                self.joint("button"),
                self.joint("switch"),
                float(self.lightbulb),
                float(self.led),
            ]
        ]
        for colour in BLOCK_COLOURS:
            pos, mat = self.block_pose(colour)
            parts.append(np.concatenate([pos, mat_to_euler(mat)]))
        return np.concatenate(parts).astype(np.float32)

    def robot_obs(self) -> np.ndarray:
        """CALVIN's 15-D robot state (``PandaArm.calvin_state``)."""
        return self.arm.calvin_state(self.data, self.last_gripper_action)

    # --- stepping --------------------------------------------------------------------------
    def forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)

    def step(self, n_substeps: int = N_SUBSTEPS) -> None:
        mujoco.mj_step(self.model, self.data, nstep=n_substeps)
        # mj_step leaves poses and contacts at the state before its last integration; bring them
        # up to date so observations, oracles and a restored copy all see the current state
        mujoco.mj_fwdPosition(self.model, self.data)
        self._update_lights()
        if not np.all(np.isfinite(self.data.qpos)) or np.abs(self.data.qvel).max() > MAX_QVEL:
            raise PhysicsError(
                f"the simulation became unstable at t={self.data.time:.3f}s (non-finite or exploding "
                "state); this episode cannot continue — reset the environment"
            )

    def _update_lights(self) -> None:
        pressed = self.joint("button") > BUTTON_PRESSED
        if pressed and not self._button_was_pressed:
            self.led = 1 - self.led
        self._button_was_pressed = pressed
        switch = self.joint("switch")
        if switch > SWITCH_ON:
            self.lightbulb = 1
        elif switch < SWITCH_OFF:
            self.lightbulb = 0

    def reset_lights(self, led: int, lightbulb: int) -> None:
        self.led, self.lightbulb = int(led), int(lightbulb)
        self._button_was_pressed = self.joint("button") > BUTTON_PRESSED

    def sync_visuals(self) -> None:
        """Colour the LED and bulb by their state; call before rendering."""
        self.model.geom_rgba[self._led_geom] = LED_ON_RGBA if self.led else LED_OFF_RGBA
        self.model.geom_rgba[self._bulb_geom] = BULB_ON_RGBA if self.lightbulb else BULB_OFF_RGBA

    def drawer_surface_z(self) -> float:
        """Height of the drawer's floor, metres."""
        return float(self.data.geom("drawer_floor").xpos[2] + self.model.geom("drawer_floor").size[2])

    def slider_surface_z(self) -> float:
        return float(self.data.geom("slider_floor").xpos[2] + self.model.geom("slider_floor").size[2])

    @property
    def cabinet_front_y(self) -> float:
        return CABINET_Y - 0.1
