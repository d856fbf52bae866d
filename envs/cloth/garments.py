"""Garments as meshes: a square cloth, a towel and a T-shirt outline, each a triangulated sheet.

A garment's geometry (its outline, size and vertex spacing) decides the compiled flex, so it is
part of the model; its material (stiffness, friction, colour) is written into a compiled model per
episode (``envs.cloth.sim``). Every outline is cut from a regular grid: vertex (i, j) sits at
``(i - (nx-1)/2, j - (ny-1)/2) * spacing`` in the garment's own frame, x across, y along, so the
folds' correspondences are exact mirror images on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from envs.errors import unknown_name_error

SHAPES = ("square", "towel", "tshirt")
MAX_SIZE = 0.8  # metres: the largest garment the table (1 m across) takes, the T-shirt at the unseen 1.4x


@dataclass(frozen=True)
class Garment:
    """One garment's geometry and material.

    ``width`` is its extent across (x), ``length`` along (y), in metres; ``count`` the number of
    grid vertices across (the grid's spacing follows). ``young`` is the Young's modulus (Pa) of a
    0.002 m sheet, which sets both stretch and bending; ``friction`` the sliding friction against
    the table; ``rgb`` its colour.
    """

    shape: str = "square"
    width: float = 0.3
    length: float = 0.3
    count: int = 20
    young: float = 5e3
    friction: float = 0.8
    rgb: tuple[float, float, float] = (0.2, 0.4, 0.8)

    def __post_init__(self):
        if self.shape not in SHAPES:
            raise unknown_name_error("garment shape", self.shape, SHAPES)
        if not (0.1 <= self.width <= MAX_SIZE and 0.1 <= self.length <= MAX_SIZE):
            raise ValueError(f"garment width and length must be 0.1-{MAX_SIZE} m, got {self.width} x {self.length}")
        if not 6 <= self.count <= 40:
            raise ValueError(f"garment count must be 6-40 vertices across, got {self.count}")
        if self.young <= 0 or self.friction <= 0:
            raise ValueError(f"garment young and friction must be positive, got {self.young}, {self.friction}")

    @property
    def spacing(self) -> float:
        """Metres between neighbouring grid vertices."""
        return self.width / (self.count - 1)

    @property
    def geometry_key(self) -> tuple:
        """What the compiled model depends on (the material is written per episode)."""
        return (self.shape, round(self.width, 6), round(self.length, 6), self.count)

    @cached_property
    def grid(self) -> tuple[int, int]:
        """Grid vertices across (x) and along (y)."""
        return self.count, max(2, int(round(self.length / self.spacing)) + 1)

    @cached_property
    def _mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nx, ny = self.grid
        i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        u = (i - (nx - 1) / 2) / (nx - 1)  # -0.5 .. 0.5 across
        v = (j - (ny - 1) / 2) / (ny - 1)  # -0.5 .. 0.5 along
        keep = _outline(self.shape, u, v)
        index = -np.ones((nx, ny), dtype=int)
        index[keep] = np.arange(int(keep.sum()))
        cells = []
        for a in range(nx - 1):
            for b in range(ny - 1):
                corners = index[a, b], index[a + 1, b], index[a + 1, b + 1], index[a, b + 1]
                if min(corners) < 0:
                    continue
                p, q, r, s = corners
                # alternate the diagonal so the sheet has no preferred shear direction
                cells += [(p, q, r), (p, r, s)] if (a + b) % 2 == 0 else [(p, q, s), (q, r, s)]
        points = np.stack([(i[keep] - (nx - 1) / 2), (j[keep] - (ny - 1) / 2)], axis=1) * self.spacing
        grid_ij = np.stack([i[keep], j[keep]], axis=1)
        return points, np.asarray(cells, dtype=int), grid_ij

    @property
    def points(self) -> np.ndarray:
        """(N, 2) rest positions of the vertices in the garment's frame, metres."""
        return self._mesh[0]

    @property
    def triangles(self) -> np.ndarray:
        """(M, 3) vertex indices of the triangles."""
        return self._mesh[1]

    @property
    def grid_ij(self) -> np.ndarray:
        """(N, 2) each vertex's grid cell (i across, j along)."""
        return self._mesh[2]

    @cached_property
    def area(self) -> float:
        """Square metres of the flat garment."""
        p = self.points[self.triangles]
        u, v = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        return float(0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]).sum())

    @cached_property
    def corners(self) -> np.ndarray:
        """Indices of the outline's corner vertices (convex turns of the outline): where a person
        grasps to spread or fold it."""
        nx, ny = self.grid
        occupied = -np.ones((nx + 2, ny + 2), dtype=int)
        occupied[self.grid_ij[:, 0] + 1, self.grid_ij[:, 1] + 1] = np.arange(len(self.points))
        corners = []
        for k, (a, b) in enumerate(self.grid_ij + 1):
            # a convex corner has two perpendicular neighbours missing and the diagonal between them too
            for da, db in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                if (
                    occupied[a - da, b] >= 0
                    and occupied[a, b - db] >= 0
                    and occupied[a + da, b] < 0
                    and occupied[a, b + db] < 0
                ):
                    corners.append(k)
                    break
        return np.asarray(corners, dtype=int)

    @cached_property
    def boundary(self) -> np.ndarray:
        """Indices of the outline's vertices (a grid neighbour missing): where a sheet is grasped."""
        nx, ny = self.grid
        occupied = np.zeros((nx + 2, ny + 2), dtype=bool)
        occupied[self.grid_ij[:, 0] + 1, self.grid_ij[:, 1] + 1] = True
        a, b = self.grid_ij[:, 0] + 1, self.grid_ij[:, 1] + 1
        inner = occupied[a - 1, b] & occupied[a + 1, b] & occupied[a, b - 1] & occupied[a, b + 1]
        return np.flatnonzero(~inner)

    def mirror(self, fold: str) -> tuple[np.ndarray, np.ndarray]:
        """The vertices a fold moves and, for each, the vertex it must land on.

        ``fold``: ``left``/``right``/``near``/``far`` (that half is laid on the other: across x for
        left and right, along y for near and far) or ``diagonal_<corner>`` with the corner
        ``ll``, ``lr``, ``ul``, ``ur`` (that corner's triangle is laid on the opposite one; square
        only). Raises ValueError for a fold the garment has no exact mirror for."""
        if fold not in self.folds:
            raise ValueError(f"a {self.shape} has no fold {fold!r}; its folds: {', '.join(self.folds)}")
        return self._mirrors[fold]

    @cached_property
    def _mirrors(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {fold: self._mirror(fold) for fold in self.folds}

    def _mirror(self, fold: str) -> tuple[np.ndarray, np.ndarray]:
        """Compute ``mirror(fold)``."""
        nx, ny = self.grid
        i, j = self.grid_ij[:, 0], self.grid_ij[:, 1]
        ci, cj = (nx - 1) / 2, (ny - 1) / 2
        if fold in ("left", "right"):
            moving = i < ci if fold == "left" else i > ci
            target = np.stack([nx - 1 - i, j], axis=1)
        elif fold in ("near", "far"):
            moving = j < cj if fold == "near" else j > cj
            target = np.stack([i, ny - 1 - j], axis=1)
        else:
            corner = fold.split("_")[1]
            sx = -1 if corner[1] == "l" else 1  # lower/upper: y; left/right: x
            sy = -1 if corner[0] == "l" else 1
            x, y = (i - ci) * sx, (j - cj) * sy  # the corner at (+, +) in these coordinates
            moving = x + y > 0
            # reflect across the line x + y = 0: (x, y) -> (-y, -x)
            target = np.stack([ci - y * sx, cj - x * sy], axis=1)
        lookup = {(int(a), int(b)): k for k, (a, b) in enumerate(self.grid_ij)}
        move_idx = np.flatnonzero(moving)
        onto = np.array([lookup[(int(round(target[k, 0])), int(round(target[k, 1])))] for k in move_idx], dtype=int)
        return move_idx, onto

    @property
    def folds(self) -> tuple[str, ...]:
        """The folds with an exact mirror: both halves, both ways; the diagonals of a square."""
        if self.shape == "tshirt":
            return ("left", "right")  # sleeve onto sleeve; bottom onto top has no mirror image
        halves = ("left", "right", "near", "far")
        if self.shape == "square" and self.grid[0] == self.grid[1]:
            return (*halves, *(f"diagonal_{c}" for c in ("ll", "lr", "ul", "ur")))
        return halves


def _outline(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Which grid vertices (u across, v along, both -0.5..0.5) the outline keeps."""
    eps = 1e-9
    if shape in ("square", "towel"):
        return np.ones_like(u, dtype=bool)
    # T-shirt: the body, sleeves out to the sides near the top, a neck cut out of the top edge
    body = np.abs(u) <= 0.3 + eps
    sleeves = (v >= 0.12 - eps) & (v <= 0.42 + eps)
    neck = (np.abs(u) < 0.12 - eps) & (v > 0.4 + eps)
    return (body | sleeves) & ~neck
