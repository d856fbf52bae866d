"""Flow matching on action chunks, as GR-3 (and pi0) train and sample them.

Time runs from noise (t = 0) to data (t = 1): ``a_t = (1 - t) * noise + t * a``, whose velocity is
the constant ``a - noise``; the network learns it at t ~ U(0, 1) and actions are sampled by Euler
integration of the learnt field from pure noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def interpolate(noise: torch.Tensor, actions: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``(1 - t) * noise + t * actions``; t has the leading dimensions of the actions, e.g. (B, S)."""
    t = t.reshape(*t.shape, *([1] * (actions.dim() - t.dim())))
    return (1 - t) * noise + t * actions


def velocity_target(noise: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The velocity of the straight path from ``noise`` to ``actions``."""
    return actions - noise


def euler(velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], noise: torch.Tensor, steps: int):
    """Integrate ``dx/dt = velocity(x, t)`` from t = 0 (``noise``) to t = 1 in ``steps`` equal steps.

    Args:
        velocity: (x (B, ...), t (B,)) -> dx/dt, shaped as x.
    """
    if steps < 1:
        raise ValueError(f"Euler integration needs steps >= 1, got {steps}")
    x, dt = noise, 1.0 / steps
    for i in range(steps):
        t = torch.full((x.shape[0],), i * dt, device=x.device, dtype=x.dtype)
        x = x + dt * velocity(x, t)
    return x
