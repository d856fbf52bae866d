"""Task-status supervision (GR-3): which training samples are ``ongoing``, ``terminated`` or ``invalid``.

- Real samples are ``ongoing``, except the last ``terminal_steps`` steps of an episode, which are
  ``terminated``. The datasets ``gr-bench collect`` writes hold successful episodes only (a failed
  rollout is replaced), so an episode's end is its task's completion: from those steps the rest of
  the expert's actions finishes the task.
- With probability ``swap_prob`` a sample's instruction is swapped for a request about something
  that is not in the scene (the environment's training bank of invalid requests, which
  ``gr-bench train`` reads with ``gr_bench.train.invalid_requests``: agents never import envs) and
  the sample is labelled ``invalid``; only its status is supervised (no
  flow loss), since its actions do not carry out the instruction it is now given.

Why not another task's instruction, as a first version did: in a scene where that other task is
feasible (a slider that could be moved), "invalid" is the wrong label. Trained that way, a tiny
GR-3 reported ``invalid`` at the start of 9 of 24 feasible seen episodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from agents.base import ONGOING, TASK_STATUSES, TERMINATED

STATUS_INDEX = {status: i for i, status in enumerate(TASK_STATUSES)}


def status_labels(action_mask: torch.Tensor, terminal_steps: int) -> torch.Tensor:
    """(B,) status indices of real samples from their action chunks' masks.

    Args:
        action_mask: (B, chunk) bool, True where the step t + j is inside the episode; chunk must be
            larger than ``terminal_steps``.
    Returns:
        ``terminated`` where step t + terminal_steps is past the episode's end (t is one of its last
        terminal_steps steps), else ``ongoing``.
    """
    if action_mask.shape[-1] <= terminal_steps:
        raise ValueError(
            f"the chunk ({action_mask.shape[-1]} steps) must be longer than terminal_steps ({terminal_steps})"
        )
    ending = ~action_mask[:, terminal_steps]
    return torch.where(ending, STATUS_INDEX[TERMINATED], STATUS_INDEX[ONGOING]).long()


def swap_instructions(instructions: Sequence[str], prob: float, pool: Sequence[str]) -> tuple[list[str], torch.Tensor]:
    """Swap each instruction, with probability ``prob``, for one drawn from ``pool`` (invalid requests).

    Draws come from torch's global generator, so a resumed training run swaps exactly as the
    uninterrupted one.

    Returns:
        the instructions, and swapped (B,) bool.
    """
    out = list(instructions)
    swapped = torch.rand(len(out)) < prob
    if not bool(swapped.any()):
        return out, swapped
    if not pool:
        raise ValueError("swap_prob > 0 needs a non-empty pool of invalid requests")
    chosen = torch.nonzero(swapped).flatten().tolist()
    for i, pick in zip(chosen, torch.randint(len(pool), (len(chosen),)).tolist(), strict=True):
        out[i] = pool[pick]
    return out, swapped
