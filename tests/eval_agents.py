"""Misbehaving agents for the evaluator's failure-isolation tests (importable by module:Class)."""

import contextlib
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


class SemaphoreAgent:
    """Holds a multiprocessing semaphore for its life, as torch's CPU runtime does: a worker killed
    at the end of a run, rather than let go, leaves it to the resource tracker's leak warning."""

    def __init__(self):
        import multiprocessing

        self.lock = multiprocessing.get_context("spawn").Semaphore()

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.r_[np.zeros(6), 1.0]


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


class ExitingAgent:
    """Calls sys.exit in the middle of an episode."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        import sys

        sys.exit(3)


class HardExitingAgent:
    """Calls os._exit in the middle of an episode, as a C extension's abort path might."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        import os

        os._exit(7)


class SelfKillingAgent:
    """Its process dies at once, as in a segfault or an out-of-memory kill."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class TimeoutSwallowingAgent:
    """Catches everything, the evaluator's time-out included, and carries on."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        with contextlib.suppress(BaseException):  # the point of this agent
            time.sleep(0.6)
        return np.zeros(7)


class NeverReturningAgent:
    """Swallows every time-out forever: only killing its process stops it."""

    def reset(self, instruction):
        pass

    def act(self, observation):
        while True:
            with contextlib.suppress(BaseException):  # the point of this agent
                time.sleep(0.1)


class BrokenConstructorAgent:
    def __init__(self):
        raise RuntimeError("cannot load my weights")

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7)


class ExitingConstructorAgent:
    def __init__(self):
        import os

        os._exit(9)

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7)


class StringActionAgent:
    def reset(self, instruction):
        pass

    def act(self, observation):
        return ["0.1"] * 7


class ComplexActionAgent:
    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7) + 1j


class ConfigurableAgent:
    """Takes a (fake) checkpoint path, as trained agents do, and holds the arm still."""

    def __init__(self, checkpoint=None):
        self.checkpoint = checkpoint

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.r_[np.zeros(6), 1.0]


class SelfKillingConstructorAgent:
    def __init__(self):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)

    def reset(self, instruction):
        pass

    def act(self, observation):
        return np.zeros(7)
