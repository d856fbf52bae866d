"""Performance gates: speed figures as ratios to calibrations measured in the same run.

- ``figures``: what is measured (the registry; agents add a line to ``AGENTS``)
- ``measure``: interleaved sampling, medians, the report
- ``compare``: a report against a baseline (``benchmarks/baseline.json``)
- ``peer``: robosuite's Lift measured beside ours, in its own venv
- ``score``: results files against a minimum success rate per suite
- ``commands``: ``gr-bench perf run|check|baseline`` and ``gr-bench check``
"""

from gr_bench.perf.commands import add_parser

__all__ = ["add_parser"]
