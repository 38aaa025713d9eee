#!/usr/bin/env bash
# Every GPU benchmark at real model sizes with random weights, in one run (a lent GPU machine's
# minutes are few). Run from the repository root on the GPU machine:
#     bash bench/gpu_all.sh [OUT_DIR]
# The machine has its own Python with torch, transformers and peft but no diffusers: bring its
# wheel (pure Python) in .whl/ (see DEPENDENCIES.md); it is installed into /tmp/site here.
# Each bench gets its own time limit so one slow part cannot eat the others' time. Figures land
# in OUT_DIR/<bench>.json (the last line each bench prints) and the whole log in OUT_DIR/gpu.log.
set -u
OUT_DIR=${1:-${OUT:-/tmp/gpu-out}}
mkdir -p "$OUT_DIR"
exec > >(tee "$OUT_DIR/gpu.log") 2>&1
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed"; exit 1; }
    export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
python3 -c "import torch, diffusers, peft, transformers; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'peft', peft.__version__, 'transformers', transformers.__version__)"

run() {  # name, seconds, command...
    local name=$1 limit=$2
    shift 2
    # ONLY="render_diffusion lora" reruns some benches without the others.
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
    echo "=== $name (limit ${limit}s)"
    local start=$SECONDS
    timeout "$limit" "$@" | tee "$OUT_DIR/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "=== $name rc=$rc wall=$((SECONDS - start))s"
    tail -n 1 "$OUT_DIR/$name.txt" > "$OUT_DIR/$name.json"
}

run lora 170 python3 bench/lora.py --size real --device cuda --json
run render_diffusion 280 python3 bench/render_diffusion.py --size real --device cuda --json
run render_compiled 270 python3 bench/render_diffusion.py --size real --device cuda --compile --json
run lora_hotswap 150 python3 bench/lora_hotswap.py --size real --device cuda --json
