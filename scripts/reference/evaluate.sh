#!/usr/bin/env bash
# Evaluate a reference checkpoint (and its blind control) on every released suite, resumably.
#   scripts/reference/evaluate.sh AGENT CHECKPOINT OUTDIR [WORKERS]
# e.g. scripts/reference/evaluate.sh gr3 runs/reference/gr3-tiny/train runs/reference/gr3-tiny/eval 2
# Long-horizon runs its 1000 ABC->D chains and the 50 tidy clean-ups (the ABCD->D chains only with
# ALL_CHAINS=1); the blind control runs seen, unseen and ood-instruction. A killed call, rerun, resumes.
set -euo pipefail
AGENT=$1 CKPT=$2 OUT=$3 WORKERS=${4:-2}
export MUJOCO_GL=egl OMP_NUM_THREADS=1
run() {  # suite, out name, extra args...
    local suite=$1 name=$2; shift 2
    local resume=(); [ -d "$OUT/$name" ] && resume=(--resume)
    [ -f "$OUT/$name/results.json" ] && return 0
    gr-bench eval --agent "$AGENT" --checkpoint "$CKPT" --suite "$suite" --workers "$WORKERS" \
        --out "$OUT/$name" "${resume[@]}" "$@"
}
mkdir -p "$OUT"
for suite in seen unseen ood-instruction; do
    run "$suite" "$suite"
done
for suite in seen unseen ood-instruction; do
    run "$suite" "$suite-blind" --set blind=true
done
if [ "${ALL_CHAINS:-0}" = 1 ]; then
    run long-horizon long-horizon
else
    run long-horizon long-horizon-abc-d --axis long_horizon_ABC-D
    run long-horizon long-horizon-tidy --env GRBench/Tidy-v0
fi
