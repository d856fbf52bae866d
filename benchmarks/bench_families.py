"""Every registered environment family's env step with all its cameras, from its descriptor alone
(``envs.family``): a family added later, inside gr-bench or outside it (``GR_BENCH_FAMILIES``), gets
a figure with no edit here. A revision without descriptors has no such figures (none collected)."""

from __future__ import annotations

import pytest
from conftest import SEED

STEPS = 30


def _families():
    try:
        import envs  # noqa: F401  (registers the built-in families)
        from envs.family import families
    except ImportError:  # a revision from before environment families were declared
        return []
    return list(families())


@pytest.mark.parametrize("family", _families(), ids=lambda f: f.id)
def test_family_step(figure, family):
    """env.step of the family's default task, every camera at its default size, the no-op action."""
    import gymnasium as gym

    env = gym.make(family.env_id, resolution={c.name: c.default_size for c in family.cameras}).unwrapped

    def setup():
        env.reset(seed=SEED, options={"task": family.default_task})

    def run():
        for _ in range(STEPS):
            env.step(env.no_op_action())

    figure(run, setup, group="families", calls=STEPS, unit="env steps")
    env.close()
