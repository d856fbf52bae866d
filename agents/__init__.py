"""Policies that speak the gr-bench Agent protocol. Never imports ``envs``: an agent sees only
observations and instructions, so the same code can drive a real robot."""
