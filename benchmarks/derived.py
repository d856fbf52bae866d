"""Lines ``gr-bench perf run`` derives from the figures, beside their rates: what an env step's
physics costs against its raw ``mj_step`` substeps, what cameras cost on top of the physics, and
the tabletop's speed against CALVIN's, and what the policy server's batching saves. They live with
the figures they read (names below)."""

from __future__ import annotations

from collections.abc import Callable


def derived_lines(seconds: Callable[[str], float | None]) -> list[str]:
    """``seconds(figure name)``: CPU seconds per unit of that figure, or None where it did not run."""
    from envs.tabletop.sim import N_SUBSTEPS
    from gr_bench.perf.peer import CALVIN_STEPS_PER_S

    lines = []
    physics, cameras = seconds("test_tabletop_step[no_cameras]"), seconds("test_tabletop_step[two_cameras]")
    raw = seconds("test_tabletop_mj_step")
    if physics and raw:
        overhead = physics / (N_SUBSTEPS * raw)
        lines.append(f"tabletop: an env step's physics costs {overhead:.2f}x its {N_SUBSTEPS} raw mj_steps")
    if physics and cameras:
        lines.append(f"tabletop: an env step with both cameras costs {cameras / physics:.2f}x one without")
        low, high = CALVIN_STEPS_PER_S
        lines.append(
            f"tabletop with both cameras: {1 / cameras:.0f} env steps per CPU second, {1 / cameras / high:.0f}-"
            f"{1 / cameras / low:.0f}x CALVIN's {low}-{high} steps/s (the target is 10x)"
        )
    twin_physics = seconds("test_tabletop_bullet_step[no_cameras]")
    twin_cameras = seconds("test_tabletop_bullet_step[two_cameras]")
    if twin_physics and twin_cameras and physics and cameras:
        low, high = CALVIN_STEPS_PER_S
        lines.append(
            f"tabletop's PyBullet twin: {1 / twin_cameras:.0f} env steps per CPU second with both cameras "
            f"({twin_cameras / cameras:.1f}x the MuJoCo tabletop's cost; CALVIN {low}-{high}), "
            f"{1 / twin_physics:.0f} physics-only ({twin_physics / physics:.1f}x)"
        )
    tidy_physics, tidy_cameras = seconds("test_tidy_step[no_cameras]"), seconds("test_tidy_step[three_cameras]")
    if tidy_physics and tidy_cameras:
        lines.append(f"tidy: an env step with three cameras costs {tidy_cameras / tidy_physics:.2f}x one without")
    cloth_physics, cloth_cameras = seconds("test_cloth_step[no_cameras]"), seconds("test_cloth_step[two_cameras]")
    if cloth_physics and cloth_cameras:
        from envs.cloth.sim import CONTROL_DT

        lines.append(
            f"cloth (20x20 square): {1 / cloth_cameras:.0f} env steps per CPU second with both cameras (target 60), "
            f"{1 / cloth_physics:.0f} physics-only (target 300); real-time factor {CONTROL_DT / cloth_physics:.2f}"
        )
    batched, unbatched = seconds("test_serve_batching[batched]"), seconds("test_serve_batching[unbatched]")
    if batched and unbatched:
        lines.append(
            f"policy server: 8 clients' requests batched into one model call cost {unbatched / batched:.2f}x less "
            "CPU per request than one call each"
        )
    return lines
