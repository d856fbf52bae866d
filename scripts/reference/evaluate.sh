#!/usr/bin/env bash
# Evaluate a reference checkpoint (and its blind control) on every released suite, resumably.
#   scripts/reference/evaluate.sh AGENT CHECKPOINT OUTDIR [WORKERS]
# e.g. scripts/reference/evaluate.sh gr3 runs/reference/gr3-tiny/train runs/reference/gr3-tiny/eval 2
# TRACK=tabletop runs one family's track only (GR-1 drives the tabletop arm alone). Long-horizon
# runs whole (both protocols: the boards file whole suites or whole tracks; ABC->D is its
# headline); the blind control (every camera image constant) runs seen, unseen and
# ood-instruction. A killed call, rerun, resumes.
set -euo pipefail
AGENT=$1 CKPT=$2 OUT=$3 WORKERS=${4:-2}
TRACK=${TRACK:-}
export MUJOCO_GL=egl OMP_NUM_THREADS=1
run() {  # suite, out name, extra args...
    local suite=$1 name=$2; shift 2
    local resume=() track=()
    [ -d "$OUT/$name" ] && resume=(--resume)
    [ -n "$TRACK" ] && track=(--track "$TRACK")
    [ -f "$OUT/$name/results.json" ] && return 0
    gr-bench eval --agent "$AGENT" --checkpoint "$CKPT" --suite "$suite" --workers "$WORKERS" \
        --out "$OUT/$name" "${track[@]}" "${resume[@]}" "$@"
}
mkdir -p "$OUT"
for suite in unseen seen ood-instruction; do
    run "$suite" "$suite"
done
for suite in seen unseen ood-instruction; do
    run "$suite" "$suite-blind" --set blind=true
done
run long-horizon long-horizon
exit 0
