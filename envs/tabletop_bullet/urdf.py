"""The play table for PyBullet, generated from the compiled MuJoCo model of the same scene.

Nothing here is a second description of the table, the arm or the blocks: every body, joint, geom,
mass and colour is read from the ``mujoco.MjModel`` that ``envs/tabletop/scenes.py`` builds, and
written out as URDF (one file per tree hanging from the world), which PyBullet loads.

How MuJoCo's tree maps onto URDF:

- a body becomes a link, its joint a URDF joint whose origin is the body's frame in its parent's;
  a body without a joint is welded (a fixed joint);
- every geom becomes a link of its own, welded to its body's link at the geom's pose, so that a
  contact names the exact geom (``table_top``, ``left_pad``), as the MuJoCo oracles label contacts;
- a tree whose root is free (a block) is a floating base; a welded root is a fixed base whose pose
  is set from MuJoCo's (distractors move between episodes); a root with a joint hangs from a
  massless anchor at the world origin; the world's own geoms form one more fixed tree.

What URDF cannot say is left to the simulator wrapper (``sim.py``): joint friction loss, springs,
actuators, and contact exclusions (PyBullet does not collide links of one multibody unless asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import mujoco
import numpy as np

from envs.utils.rotations import mat_to_euler, quat_to_mat

PLANE_THICKNESS = 0.02  # metres: a MuJoCo plane becomes a thin box whose top is the plane
DEFAULT_GEOM_RGBA = (0.5, 0.5, 0.5, 1.0)  # MuJoCo's: a geom left at it shows its material's colour


@dataclass
class Tree:
    """One URDF file: the bodies of one tree under the world (or the world's own geoms)."""

    name: str
    root: int  # MuJoCo body id of its root (0 for the world's geoms)
    kind: str  # "free", "welded" (fixed base at the root body), "jointed" (anchor + joint), "world"
    urdf: str
    links: list[str] = field(default_factory=list)  # link names in URDF order (index 0 is the base)
    geom_link: dict[int, str] = field(default_factory=dict)  # MuJoCo geom id -> its link
    body_link: dict[int, str] = field(default_factory=dict)  # MuJoCo body id -> its link
    joint_link: dict[int, str] = field(default_factory=dict)  # MuJoCo joint id -> the link it moves


def _origin(pos, quat) -> str:
    # URDF's roll-pitch-yaw is R = Rz(yaw) Ry(pitch) Rx(roll): CALVIN's extrinsic xyz euler angles
    roll, pitch, yaw = mat_to_euler(quat_to_mat(np.asarray(quat, dtype=float)))
    return f'<origin xyz="{_f(pos)}" rpy="{roll:.9g} {pitch:.9g} {yaw:.9g}"/>'


def _f(values) -> str:
    return " ".join(f"{float(v):.9g}" for v in np.ravel(values))


def geom_shape(model: mujoco.MjModel, g: int) -> tuple[str, np.ndarray]:
    """URDF geometry element of geom ``g`` and the offset (geom frame) of its centre."""
    kind, size = int(model.geom_type[g]), model.geom_size[g]
    offset = np.zeros(3)
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        return f'<box size="{_f(2 * size)}"/>', offset
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        return f'<sphere radius="{size[0]:.9g}"/>', offset
    if kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
        return f'<capsule radius="{size[0]:.9g}" length="{2 * size[1]:.9g}"/>', offset
    if kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
        return f'<cylinder radius="{size[0]:.9g}" length="{2 * size[1]:.9g}"/>', offset
    if kind == mujoco.mjtGeom.mjGEOM_PLANE:
        offset[2] = -PLANE_THICKNESS / 2
        return f'<box size="{2 * size[0]:.9g} {2 * size[1]:.9g} {PLANE_THICKNESS}"/>', offset
    raise ValueError(f"geom {model.geom(g).name or g} has MuJoCo type {kind}, which the PyBullet twin does not convert")


def geom_collides(model: mujoco.MjModel, g: int) -> bool:
    return bool(model.geom_contype[g] or model.geom_conaffinity[g])


def geom_rgba(model: mujoco.MjModel, g: int, texture_rgb: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """The colour a geom shows: its own, or its material's (times its texture's mean colour)."""
    rgba = model.geom_rgba[g].copy()
    mat = int(model.geom_matid[g])
    if mat >= 0 and np.allclose(rgba, DEFAULT_GEOM_RGBA):
        rgba = model.mat_rgba[mat].copy()
        tex = int(np.max(model.mat_texid[mat]))
        if tex >= 0:
            rgba[:3] *= texture_rgb[tex] if texture_rgb and tex in texture_rgb else texture_mean(model, tex)
    return rgba


def texture_mean(model: mujoco.MjModel, tex: int) -> np.ndarray:
    """Mean RGB (0-1) of a compiled texture's pixels."""
    start, h, w, c = model.tex_adr[tex], model.tex_height[tex], model.tex_width[tex], model.tex_nchannel[tex]
    pixels = model.tex_data[start : start + h * w * c].reshape(-1, c)[:, :3]
    return pixels.mean(0) / 255.0


# a link without mass (a geom's, an anchor, a welded base) says so: URDF loaders give 1 kg to a link
# that has no inertial element
MASSLESS = '<inertial><mass value="0"/><inertia ixx="0" iyy="0" izz="0" ixy="0" ixz="0" iyz="0"/></inertial>'


def _link(name: str, inertial: str = "", geoms: str = "") -> str:
    return f"  <link name={quoteattr(name)}>{inertial or MASSLESS}{geoms}</link>\n"


def _inertial(model: mujoco.MjModel, b: int) -> str:
    mass = float(model.body_mass[b])
    if mass <= 0:
        return ""
    ixx, iyy, izz = model.body_inertia[b]
    return (
        f'<inertial>{_origin(model.body_ipos[b], model.body_iquat[b])}<mass value="{mass:.9g}"/>'
        f'<inertia ixx="{ixx:.9g}" iyy="{iyy:.9g}" izz="{izz:.9g}" ixy="0" ixz="0" iyz="0"/></inertial>'
    )


def _geom_link(model: mujoco.MjModel, g: int, name: str) -> str:
    shape, offset = geom_shape(model, g)
    origin = _origin(offset, (1, 0, 0, 0))
    rgba = geom_rgba(model, g)
    material = f'<material name="m{g}"><color rgba="{_f(rgba)}"/></material>'
    visual = f"<visual>{origin}<geometry>{shape}</geometry>{material}</visual>"
    collision = f"<collision>{origin}<geometry>{shape}</geometry></collision>" if geom_collides(model, g) else ""
    return _link(name, "", visual + collision)


def _joint(name: str, kind: str, parent: str, child: str, origin: str, axis=None, limit=None, dynamics="") -> str:
    out = f"  <joint name={quoteattr(name)} type={quoteattr(kind)}><parent link={quoteattr(parent)}/>"
    out += f"<child link={quoteattr(child)}/>{origin}"
    if axis is not None:
        out += f'<axis xyz="{_f(axis)}"/>'
    if limit is not None:
        out += f'<limit lower="{limit[0]:.9g}" upper="{limit[1]:.9g}" effort="1000" velocity="100"/>'
    return out + dynamics + "</joint>\n"


def _children(model: mujoco.MjModel) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {b: [] for b in range(model.nbody)}
    for b in range(1, model.nbody):
        out[int(model.body_parentid[b])].append(b)
    return out


def body_name(model: mujoco.MjModel, b: int) -> str:
    return model.body(b).name or f"body{b}"


def build_trees(model: mujoco.MjModel) -> list[Tree]:
    """One ``Tree`` per body hanging from the world, and one for the world's own geoms."""
    children = _children(model)
    geoms_of: dict[int, list[int]] = {b: [] for b in range(model.nbody)}
    for g in range(model.ngeom):
        geoms_of[int(model.geom_bodyid[g])].append(g)
    trees = []
    if geoms_of[0]:
        tree = Tree("world", 0, "world", "")
        parts = [_link("world")]
        tree.links.append("world")
        for g in geoms_of[0]:
            name = f"geom{g}"
            parts.append(_geom_link(model, g, name))
            parts.append(_joint(f"{name}_weld", "fixed", "world", name, _origin(model.geom_pos[g], model.geom_quat[g])))
            tree.links.append(name)
            tree.geom_link[g] = name
        tree.urdf = _robot("world", parts)
        trees.append(tree)
    for root in children[0]:
        trees.append(_tree(model, root, children, geoms_of))
    return trees


def _robot(name: str, parts: list[str]) -> str:
    return f'<?xml version="1.0"?>\n<robot name={quoteattr(name)}>\n{"".join(parts)}</robot>\n'


def _tree(model: mujoco.MjModel, root: int, children, geoms_of) -> Tree:
    joints = list(range(model.body_jntadr[root], model.body_jntadr[root] + model.body_jntnum[root]))
    free = len(joints) == 1 and model.jnt_type[joints[0]] == mujoco.mjtJoint.mjJNT_FREE
    name = body_name(model, root)
    kind = "free" if free else ("welded" if not joints else "jointed")
    tree = Tree(name, root, kind, "")
    parts: list[str] = []
    if kind == "jointed":  # a massless anchor at the world origin, the root hangs from it by its joint
        parts.append(_link("anchor"))
        tree.links.append("anchor")
        _body(model, root, "anchor", tree, parts, children, geoms_of)
    else:
        if free and np.linalg.norm(model.body_ipos[root]) > 1e-9:
            raise ValueError(f"free body {name} has its centre of mass off its frame; the twin cannot place it")
        inertial = _inertial(model, root) if free else ""
        parts.append(_link(name, inertial))
        tree.links.append(name)
        tree.body_link[root] = name
        if free:
            tree.joint_link[joints[0]] = name
        _geoms(model, root, name, tree, parts, geoms_of)
        for child in children[root]:
            _body(model, child, name, tree, parts, children, geoms_of)
    tree.urdf = _robot(name, parts)
    return tree


def _body(model, b: int, parent_link: str, tree: Tree, parts: list[str], children, geoms_of) -> None:
    name = body_name(model, b)
    joints = list(range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b]))
    if len(joints) > 1:
        raise ValueError(f"body {name} has {len(joints)} joints; the twin converts one joint per body")
    parts.append(_link(name, _inertial(model, b)))
    tree.links.append(name)
    tree.body_link[b] = name
    origin = _origin(model.body_pos[b], model.body_quat[b])
    if not joints:
        parts.append(_joint(f"{name}_weld", "fixed", parent_link, name, origin))
    else:
        j = joints[0]
        kind = {mujoco.mjtJoint.mjJNT_HINGE: "revolute", mujoco.mjtJoint.mjJNT_SLIDE: "prismatic"}.get(
            int(model.jnt_type[j])
        )
        if kind is None:
            raise ValueError(
                f"joint {model.joint(j).name} is of MuJoCo type {model.jnt_type[j]}; the twin converts hinges, slides"
            )
        if np.linalg.norm(model.jnt_pos[j]) > 1e-9:
            raise ValueError(f"joint {model.joint(j).name} sits off its body's frame; the twin cannot convert it")
        dof = int(model.jnt_dofadr[j])
        limit = model.jnt_range[j] if model.jnt_limited[j] else None
        dynamics = f'<dynamics damping="{model.dof_damping[dof]:.9g}" friction="0"/>'
        parts.append(_joint(model.joint(j).name, kind, parent_link, name, origin, model.jnt_axis[j], limit, dynamics))
        tree.joint_link[j] = name
    _geoms(model, b, name, tree, parts, geoms_of)
    for child in children[b]:
        _body(model, child, name, tree, parts, children, geoms_of)


def _geoms(model, b: int, body_link: str, tree: Tree, parts: list[str], geoms_of) -> None:
    for g in geoms_of[b]:
        link = f"geom{g}"
        parts.append(_geom_link(model, g, link))
        parts.append(_joint(f"{link}_weld", "fixed", body_link, link, _origin(model.geom_pos[g], model.geom_quat[g])))
        tree.links.append(link)
        tree.geom_link[g] = link
