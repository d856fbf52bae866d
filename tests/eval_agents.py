"""Misbehaving agents for the evaluator's failure-isolation tests (importable by module:Class)."""

import time

import numpy as np


class RaisingAgent:
    def reset(self, instruction):
        self.steps = 0

    def act(self, observation):
        self.steps += 1
        if self.steps == 3:
            raise RuntimeError("policy exploded on purpose")
        return np.zeros(7)


class WrongShapeAgent:
    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(6)


class NaNAgent:
    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.full(7, np.nan)


class SleepyAgent:
    def reset(self, instruction):
        pass

    def act(self, observation):
        time.sleep(0.5)
        return np.zeros(7)


class PeekingAgent:
    """Fails if the evaluator hands it privileged state."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        if "scene_obs" in observation:
            raise AssertionError("a learned agent was given scene_obs")
        return np.zeros(7)


class StillAgent:
    """Holds the arm still with the gripper open: the right answer to an impossible request."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.r_[np.zeros(6), 1.0]


class EagerOracle:
    """The expert doing the episode's task even when the request is impossible: it moves things."""

    privileged = True

    def bind(self, env, task, instruction_category):
        from gr_bench.agents import OracleAgent

        self._oracle = OracleAgent()
        self._oracle.bind(env, task, "train")

    def reset(self, instruction):
        self._oracle.reset(instruction)

    def act(self, observation):
        return self._oracle.act(observation)


class HoldStillAgent:
    """Keeps ByteMini where it stands: base still, arms at their measured joints, grippers open."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.r_[np.zeros(3), observation["robot_obs"][9:23], 1.0, 1.0]
