"""gr-bench simulation: Gymnasium environments on MuJoCo.

Importing this package registers the environments by string entry point, which is cheap: MuJoCo
and the models load only when an environment is made. On a Linux machine with no display and no
``MUJOCO_GL`` set, it picks a headless OpenGL backend (EGL, else OSMesa) and says which.
"""

from envs.registration import register_all
from envs.utils.headless import choose_headless_backend

choose_headless_backend()
register_all()
