"""A peer benchmark measured beside ours: robosuite's Lift, in its own virtual environment.

robosuite needs a MuJoCo of its own (1.5.2 fails on MuJoCo 4.0's joint types), so it lives in a
venv (``.peer-venv/robosuite`` by default, ignored by git) made on first use; our script
``peer_robosuite_lift.py`` runs in it and writes JSON. A peer that cannot be installed or run is
reported as unavailable with the reason; it never fails the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CALVIN_STEPS_PER_S = (10, 14)  # CALVIN's PyBullet play table, both cameras, on this kind of machine
TARGET_OVER_CALVIN = 10  # our goal: ten times CALVIN's env steps/s with both cameras
INSTALL_TIMEOUT = 900  # seconds for pip to install the peer
RUN_TIMEOUT = 600  # seconds for the peer's benchmark


@dataclass(frozen=True)
class Peer:
    packages: tuple[str, ...]  # pinned: the peer's numbers should not move under us
    script: str  # beside this module
    description: str


PEERS = {
    "robosuite": Peer(
        ("robosuite==1.5.2", "mujoco==3.3.7"),
        "peer_robosuite_lift.py",
        "robosuite Lift (Panda, OSC pose control at 20 Hz), agentview 200x200 + eye-in-hand 84x84",
    ),
}


def measure_peer(name: str, venv_dir: str | Path, steps: int = 20, repetitions: int = 3, log=print) -> dict[str, Any]:
    """The peer's env-step figures, or ``{"status": "unavailable", "error": ...}``."""
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; peers: {', '.join(PEERS)}")
    peer = PEERS[name]
    result: dict[str, Any] = {"name": name, "description": peer.description, "packages": list(peer.packages)}
    try:
        python = ensure_venv(Path(venv_dir), peer.packages, log)
        with tempfile.TemporaryDirectory(prefix="gr-bench-peer-") as tmp:
            out = Path(tmp) / "peer.json"
            script = Path(__file__).with_name(peer.script)
            command = [str(python), str(script), "--out", str(out), "--steps", str(steps)]
            command += ["--repetitions", str(repetitions)]
            log(f"peer {name}: running {script.name} in {venv_dir}")
            env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
            done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"the peer script exited with {done.returncode}: {_tail(done.stderr)}")
            result.update(json.loads(out.read_text(encoding="utf-8")))
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
        result.update(status="unavailable", error=f"{type(exc).__name__}: {exc}")
        return result
    result["status"] = "ok"
    return result


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


def compare_with_peer(figures: dict[str, Any], peer: dict[str, Any]) -> dict[str, float]:
    """Our steps per CPU second over the peer's, for each env-step figure both measured.

    CPU seconds, because on a shared machine the two runs, a minute apart, see different loads;
    both run single-threaded, so on an idle machine this equals the wall-clock ratio.
    """
    if peer.get("status") != "ok":
        return {}
    return {
        name: figures[name]["cpu_rate"] / theirs["cpu_rate"]
        for name, theirs in peer["figures"].items()
        if name in figures and theirs["cpu_rate"] > 0
    }


def calvin_target(figures: dict[str, Any]) -> dict[str, Any] | None:
    """Our two-camera steps per CPU second against ten times CALVIN's (DESIGN's reference figure,
    not measured here)."""
    ours = figures.get("env_step_two_cameras")
    if ours is None:
        return None
    target = TARGET_OVER_CALVIN * CALVIN_STEPS_PER_S[1]
    rate = ours["cpu_rate"]
    return {
        "calvin_steps_per_s": list(CALVIN_STEPS_PER_S),
        "target_steps_per_s": target,
        "ours_steps_per_cpu_s": rate,
        "ours_over_calvin": [rate / CALVIN_STEPS_PER_S[1], rate / CALVIN_STEPS_PER_S[0]],
        "met": rate >= target,
    }


def _tail(text: str, lines: int = 6) -> str:
    kept = [line for line in (text or "").strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


def default_venv_dir(name: str) -> Path:
    return Path(".peer-venv") / name
