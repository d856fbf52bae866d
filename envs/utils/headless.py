"""A headless OpenGL backend for MuJoCo when none is chosen and there is no display.

MuJoCo reads ``MUJOCO_GL`` once, when it is imported; unset, it tries GLFW, which needs a display
and fails at the first render (``an OpenGL platform library has not been loaded``).
"""

from __future__ import annotations

import ctypes
import os
import sys

# backend -> the shared libraries MuJoCo loads for it, first found wins
HEADLESS_BACKENDS = {
    "egl": ("libEGL.so.1", "libEGL.so"),
    "osmesa": ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"),
}


def choose_headless_backend() -> str | None:
    """Set ``MUJOCO_GL`` to the first headless backend whose library loads, on Linux with no
    display, when it is unset and MuJoCo is not imported yet; say so on stderr. Returns it."""
    if (
        not sys.platform.startswith("linux")
        or os.environ.get("MUJOCO_GL")
        or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or "mujoco" in sys.modules
    ):
        return None
    for backend, libraries in HEADLESS_BACKENDS.items():
        if any(_loads(library) for library in libraries):
            os.environ["MUJOCO_GL"] = backend
            print(
                f"gr-bench: no display and MUJOCO_GL unset: rendering headless with MUJOCO_GL={backend} "
                "(set MUJOCO_GL to choose another)",
                file=sys.stderr,
            )
            return backend
    print(
        "gr-bench: no display, MUJOCO_GL unset and no headless OpenGL library found: rendering will fail; "
        "install EGL (apt install libegl1) or OSMesa (apt install libosmesa6), then set MUJOCO_GL=egl or osmesa",
        file=sys.stderr,
    )
    return None


def _loads(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True
