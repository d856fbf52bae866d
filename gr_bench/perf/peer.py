"""A peer benchmark measured beside ours: robosuite's Lift, in its own virtual environment.

robosuite needs a MuJoCo of its own (1.5.2 fails on MuJoCo 4.0's joint types), so it lives in a
venv (``.peer-venv/robosuite`` by default, ignored by git) made on first use, with pytest-benchmark,
and runs ``benchmarks/peer/bench_robosuite_lift.py`` (which imports robosuite and numpy, never
gr-bench) taking turns with our figures, so both see the same machine. A peer that cannot be
installed or run is reported with the reason; it never fails the run.
"""

from __future__ import annotations

import subprocess
import venv
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT = 900  # seconds for pip to install the peer
CALVIN_STEPS_PER_S = (10, 14)  # CALVIN's PyBullet play table, both cameras, on this kind of machine (not measured here)


@dataclass(frozen=True)
class Peer:
    packages: tuple[str, ...]  # pinned: the peer's numbers should not move under us
    benchmarks: str  # relative to the repository root
    description: str


PEERS = {
    "robosuite": Peer(
        ("robosuite==1.5.2", "mujoco==3.3.7", "pytest==9.2.0", "pytest-benchmark==5.3.1"),
        "benchmarks/peer/bench_robosuite_lift.py",
        "robosuite Lift (Panda, OSC pose control at 20 Hz), agentview 200x200 + eye-in-hand 84x84",
    ),
}


def ensure_venv(venv_dir: Path, packages: tuple[str, ...], log=print) -> Path:
    """The venv's python, creating the venv and installing ``packages`` unless already done."""
    python = venv_dir / "bin" / "python"
    marker = venv_dir / "installed.txt"  # written only after pip succeeded, so a killed install is redone
    wanted = "\n".join(packages) + "\n"
    if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return python
    if not python.exists():
        log(f"creating the peer venv {venv_dir}")
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    log(f"installing {' '.join(packages)} into {venv_dir} (once; a few minutes)")
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(packages)} failed: {_tail(done.stderr or done.stdout)}")
    marker.write_text(wanted, encoding="utf-8")
    return python


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in (text or "").strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


def default_venv_dir(root: Path, name: str) -> Path:
    return root / ".peer-venv" / name
