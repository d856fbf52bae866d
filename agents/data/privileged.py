"""The one name in agents/ for what a learned agent must not read: the simulator's scene state.

Collected datasets keep the environment's ``scene_obs`` (object poses; a garment's particles) as
this feature, for the experts and for analysis. Only a declared diagnostic control reads it (GR-1's
scene-state control, ``GR1Config.scene_state``), and its checkpoints say so (``privileged_inputs``),
so that the evaluator passes it the state and no board takes its runs; tests check that nothing
else in agents/ imports this.
"""

SCENE_STATE_KEY = "observation.environment_state"
