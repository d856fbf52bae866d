"""Task-status supervision (GR-3): which training samples are ``ongoing``, ``terminated`` or ``invalid``.

- Real samples are ``ongoing``, except the last ``terminal_steps`` steps of an episode, which are
  ``terminated``. The datasets ``gr-bench collect`` writes hold successful episodes only (a failed
  rollout is replaced), so an episode's end is its task's completion: from those steps the rest of
  the expert's actions finishes the task.
- With probability ``swap_prob`` a sample's instruction is swapped for one of another task and the
  sample is labelled ``invalid``; only its status is supervised (no flow loss), since its actions
  do not carry out the instruction it is now given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def swap_instructions(
    instructions: Sequence[str], prob: float, task_of: Mapping[str, str] | None = None
) -> tuple[list[str], torch.Tensor]:
    """Swap each instruction, with probability ``prob``, for an instruction of another task.

    Candidates are the instructions of ``task_of`` (instruction -> task name, so that another phrasing
    of the same task is never taken for a mismatch) and those of the batch; an instruction ``task_of``
    does not know is a task of its own. A sample with no candidate keeps its instruction. Draws come
    from torch's global generator, so a resumed training run swaps exactly as the uninterrupted one.

    Returns:
        the instructions, and swapped (B,) bool.
    """
    task_of = task_of or {}
    pool = sorted(set(task_of) | set(instructions))
    out = list(instructions)
    swapped = torch.zeros(len(out), dtype=torch.bool)
    draws = torch.rand(len(out))
    for i, text in enumerate(instructions):
        if draws[i] >= prob:
            continue
        own = task_of.get(text, text)
        candidates = [c for c in pool if task_of.get(c, c) != own]
        if candidates:
            out[i] = candidates[int(torch.randint(len(candidates), ()))]
            swapped[i] = True
    return out, swapped
