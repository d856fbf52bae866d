"""Performance gates. The speed figures are pytest-benchmark benchmarks in ``benchmarks/``; here:

- ``gate``: the candidate tree and a reference revision (a git worktree) measured side by side,
  ratios candidate / reference, the verdict
- ``interleave``: the benchmark processes take turns round by round
- ``peer``: robosuite's Lift measured beside ours, in its own venv
- ``workloads``, ``gr1``, ``gr2``, ``gr3``: what the agent figures run
- ``score``: results files against a minimum success rate per suite
- ``commands``: ``gr-bench perf run|check|baseline`` and ``gr-bench check``
"""

from gr_bench.perf.commands import add_parser

__all__ = ["add_parser"]
