#!/usr/bin/env bash
# Does GR-1 gain from planning chunks of actions instead of one per step? (issue 13 item 4,
# docs/training.md "What the block tasks are short of"). The state-only probe went 21-27/80 -> 34/80
# with ACT-style chunks of 10 executed 5 at a time (100 demonstrations per task), and GR-2's four-task
# arm solved 17/24 executing whole chunks against 6/24 re-planning every step. GR-1 as shipped plans
# one action per step. This arm is the scene-state experiment's `pixels` arm (same four block tasks,
# same 100 demonstrations per task, GR-1 tiny, 5,000 steps of batch 8, lr 5e-4, seed 0, one thread)
# with `--set chunk=10`, evaluated executing 5 actions of each chunk (`--set execute_steps=5`) on the
# same 24 seen and 24 drawn episodes, and paired with `pixels` episode by episode.
# CPU seconds of every command go to WORKDIR/cpu.txt. Rerun to resume (finished steps are skipped).
# Usage: scripts/gr1_chunk_experiment.sh [WORKDIR] [BASE]   (BASE: scripts/scene_state_experiment.sh's work folder)
set -euo pipefail
W=${1:-runs/gr1-chunk}
BASE=${2:-runs/scene-state-experiment}
STEPS=5000
TASKS=lift_red_block_table,lift_pink_block_table,push_blue_block_left,rotate_red_block_right
export MUJOCO_GL=egl OMP_NUM_THREADS=1
mkdir -p "$W"
[ -f "$BASE/data/meta/info.json" ] || { echo "no data in $BASE: run scripts/scene_state_experiment.sh $BASE first" >&2; exit 2; }

. "$(dirname "$0")/experiment_timing.sh"  # timed NAME COMMAND..., seen_and_drawn, paired_draws

name=chunk10
if [ ! -d "$W/$name/checkpoints/step-$(printf %07d "$STEPS")" ]; then
    resume=()
    compgen -G "$W/$name/checkpoints/step-*" > /dev/null && resume=(--resume)
    timed "$name" gr-bench train --agent gr1 --config tiny --data "$BASE/data" --steps "$STEPS" --batch-size 8 \
        --lr 5e-4 --warmup-steps 200 --checkpoint-every 1000 --log-every 100 --threads 1 --device cpu --seed 0 \
        --set chunk=10 "${resume[@]}" --out "$W/$name"
fi
seen_and_drawn gr1 "$name" "$TASKS" --set execute_steps=5
for draw in seen drawn; do  # against the scene-state experiment's pixels arm, episode by episode
    python scripts/reference/paired.py "$BASE/pixels-$draw" "$W/$name-$draw" > "$W/paired-$draw.txt" || true
done
cat "$W/cpu.txt"
