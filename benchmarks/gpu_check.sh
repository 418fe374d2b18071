#!/usr/bin/env bash
# GPU check for issue 17, one script, under 5 minutes on one modern GPU:
#   1. the seed CNN and the fast recipe (examples/mnist-fast.yaml) on CUDA in fp32, bf16 and fp16;
#   2. DDP with nccl over every visible GPU (torchrun), 1 epoch of the seed CNN;
#   3. the report tests, and a CUDA run that writes report.html.
# Run from the repository root:  ZENLEARN_DATA=../shared/datasets bash benchmarks/gpu_check.sh [OUT]
# Prints one line per run (test accuracy, samples/s, seconds) and ends with "gpu_check: all passed";
# the run folders and logs stay in OUT (default: a temporary folder), summaries in OUT/results.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-$(mktemp -d -t zenlearn-gpu-check.XXXXXX)}
mkdir -p "$OUT"
export ZENLEARN_DATA=${ZENLEARN_DATA:-../shared/datasets} ZENLEARN_OFFLINE=1
: > "$OUT/results.txt"

"$PY" - <<'EOF'
import torch
assert torch.cuda.is_available(), "no CUDA device visible: this script checks the GPU paths"
n = torch.cuda.device_count()
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {n} GPU(s): "
      + ", ".join(torch.cuda.get_device_name(i) for i in range(n)))
print("bf16 supported:", torch.cuda.is_bf16_supported())
EOF

summary() {  # summary DIR LABEL SECONDS: one line from DIR/summary.json
  "$PY" - "$1" "$2" "$3" <<'EOF' | tee -a "$OUT/results.txt"
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
print(f"{sys.argv[2]:28s} test accuracy {s['test']['accuracy']:.4f}  {s['samples_per_second']:>9,.0f} samples/s  "
      f"fit {s['train_seconds']:.1f}s  process {float(sys.argv[3]):.1f}s")
EOF
}

run() {  # run LABEL ARGS...: one `zenlearn train` on cuda into OUT/LABEL, then its summary line
  local label=$1; shift
  local t0=$SECONDS
  if ! "$PY" -m zenlearn train "$@" --device cuda --out "$OUT/$label" --overwrite --quiet \
      > "$OUT/$label.log" 2>&1; then
    echo "FAILED: $label (log: $OUT/$label.log)"; tail -20 "$OUT/$label.log"; exit 1
  fi
  summary "$OUT/$label" "$label" $((SECONDS - t0))
}

echo "== 1. seed CNN and fast recipe on CUDA, fp32 / bf16 / fp16"
for p in 32 bf16 16; do
  run "seed-cnn-$p" --data mnist --model seed-cnn --epochs 1 --batch-size 64 --val-split 0 --no-report \
      --precision "$p"
  run "fast-cnn-$p" --config examples/mnist-fast.yaml --precision "$p"
done

NGPU=$("$PY" -c 'import torch; print(torch.cuda.device_count())')
echo "== 2. DDP with nccl (distributed.py picks it for cuda devices) on $NGPU GPU(s)"
t0=$SECONDS
if ! "$PY" -m torch.distributed.run --standalone --nproc-per-node "$NGPU" -m zenlearn train --data mnist \
    --model seed-cnn --epochs 1 --batch-size $((64 * NGPU)) --val-split 0.1 --device cuda --no-report --quiet \
    --out "$OUT/ddp-nccl" --overwrite > "$OUT/ddp-nccl.log" 2>&1; then
  echo "FAILED: DDP (log: $OUT/ddp-nccl.log)"; tail -30 "$OUT/ddp-nccl.log"; exit 1
fi
summary "$OUT/ddp-nccl" "ddp-nccl x$NGPU" $((SECONDS - t0))

echo "== 3. report: a CUDA run with report.html, then the report tests"
run "report-cuda" --data mnist --model seed-cnn --epochs 1 --train-subset 2000 --val-split 0.1
test -s "$OUT/report-cuda/report.html" || { echo "FAILED: no report.html from a CUDA run"; exit 1; }
REPORT_TESTS=$( [ -d tests/report ] && echo tests/report || echo tests/test_report.py )
"$PY" -m pytest -q "$REPORT_TESTS" 2>&1 | tail -3 | tee -a "$OUT/results.txt"

echo "gpu_check: all passed in ${SECONDS}s (folder: $OUT)" | tee -a "$OUT/results.txt"
