"""gr-bench: the harness (registries, suites, evaluator, reports, CLI).

Importing it is cheap: it pulls in neither torch nor mujoco.
"""

__version__ = "0.1.0"
