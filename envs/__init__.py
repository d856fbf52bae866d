"""gr-bench simulation: Gymnasium environments on MuJoCo.

Importing this package registers the environments by string entry point, which is cheap: MuJoCo
and the models load only when an environment is made.
"""

from envs.registration import register_all

register_all()
