#!/usr/bin/env bash
# Trains both bundled models from random weights in one call of the device tool (a CUDA
# machine lent for minutes), with the data mix of scripts/train_bundled.sh, and hands the
# models back in pieces the tool can return (at most 8 files of 16 MiB, 64 MiB a call).
#
# Here, once (the pack and the wheel are git-ignored; the tree that travels must stay
# under 64 MiB, so the two bundled .safetensors files, 93 MiB, are moved out for the call):
#   python scripts/prepare_training_data.py && python scripts/mine_hard_negatives.py \
#     runs/init/unet-resnet34-2.0.safetensors && python scripts/pack_device_data.py
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 -d .whl segmentation-models-pytorch==0.6.0
#   mkdir -p /tmp/bundled && mv resources/models/*.safetensors /tmp/bundled/
# Device call 1 (carry device_pack and .whl; about 8 min of the 10 allowed):
#   bash scripts/device_train.sh train 420
#     trains unet-resnet34-gpu and unet-vgg16-gpu (vgg16_bn) side by side on the one GPU for
#     SECONDS (steps planned from a timed step, the run stopped cleanly at the deadline
#     either way), then puts unet-resnet34-gpu's model in $OUT in parts with both cards/logs.
# Device call 2, at once (the machine keeps runs/ while it is warm):
#   bash scripts/device_train.sh fetch unet-vgg16-gpu
# Back here, after each call (files_at: the folder the tool names), then restore the models:
#   bash scripts/device_train.sh join FILES_AT runs/device-export
#   mv /tmp/bundled/*.safetensors resources/models/
# and score / ship runs/device-export/NAME-gpu.safetensors as any candidate
# (scripts/score_models.py; scripts/ship_model.py --name NAME gives it the public name).
#
# R34_INIT / VGG_INIT (default random) start from a model file instead; it must travel too
# (a 48 MB model and the 48 MB pack do not fit one call: carry the model in a call before).
# On a machine without CUDA `train` refuses unless DEVICE=cpu (a smoke test of the script:
# DEVICE=cpu VAL_LIMIT=4 bash scripts/device_train.sh train 300: about 5 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
runs=runs/device
part_mib=15

hand_back() {  # NAME OUT [FILE...]: NAME.safetensors in 15 MiB parts + NAME.tar (card,
  # checksum, the FILEs), so that a call returns at most 8 files
  local name=$1 out=$2 notes
  shift 2
  if [[ ! -f $runs/export/$name.safetensors ]]; then
    echo "device_train: $runs/export/$name.safetensors: no model was written (see its log)" >&2
    tar -cf "$out/$name.tar" "$@"
    return 1
  fi
  split -b "${part_mib}M" -d -a 1 "$runs/export/$name.safetensors" "$out/$name.safetensors.part"
  notes=$(mktemp -d)
  (cd "$runs/export" && sha256sum "$name.safetensors") >"$notes/$name.sha256"
  cp "$runs/export/$name.json" "$@" "$notes/"
  tar -cf "$out/$name.tar" -C "$notes" .
}

case "${1:-}" in
train)
  seconds=${2:-420}
  out=${OUT:-$runs/out}
  rm -rf "$runs"  # a warm machine's earlier runs are never handed back as this call's
  mkdir -p "$out" "$runs/bin"
  # train_bundled.sh calls crackinspector-train; the project is not installed there
  printf '#!/bin/sh\nexec "%s" -m training "$@"\n' "$(command -v "$py")" >"$runs/bin/crackinspector-train"
  chmod +x "$runs/bin/crackinspector-train"
  export PATH=$PWD/$runs/bin:$PATH
  if ! "$py" -c "import segmentation_models_pytorch" 2>/dev/null; then
    "$py" -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
  rm -rf /tmp/pack && "$py" -m zipfile -e "${PACK:-device_pack/data.zip}" /tmp/pack
  export CRACKINSPECTOR_SHARED_DATA=/tmp/pack/data CRACKINSPECTOR_PREPARED_DATA=/tmp/pack/prepared
  device=${DEVICE:-cuda}
  if [[ $device == cuda ]] && ! "$py" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "device_train: no CUDA device; DEVICE=cpu runs it on the CPU (a smoke test)" >&2
    exit 2
  fi
  # Steps that fit the time: a timed step of each encoder (both runs share the GPU, so
  # each gets half of it), half the time left for data loading, validation and export;
  # at most 12 epochs, each validated.
  read -r r34 vgg < <("$py" - "$device" <<'EOF'
import sys
from training.estimate import measure_step
print(*(measure_step(enc, 16, 128, sys.argv[1]).seconds_per_step for enc in ("resnet34", "vgg16_bn")))
EOF
  )
  plan() {  # seconds_per_step -> "EPOCHS STEPS_PER_EPOCH"
    "$py" -c "import sys; n = max(8, int(float(sys.argv[2]) * 0.5 / (2 * float(sys.argv[1])))); \
e = max(1, min(12, n // 200)); print(e, max(4, n // e))" "$1" "$seconds"
  }
  read -r r34_epochs r34_steps < <(plan "$r34")
  read -r vgg_epochs vgg_steps < <(plan "$vgg")
  echo "timed step: resnet34 ${r34}s, vgg16_bn ${vgg}s; plans ${r34_epochs}x${r34_steps}, ${vgg_epochs}x${vgg_steps}"
  workers=$(( ($(nproc) - 2) / 2 )); (( workers < 1 )) && workers=1
  common=(--ema 0.999 --export last --export-dir "$runs/export" --device "$device"
    --workers "$workers" --val-limit "${VAL_LIMIT:-160}")
  # The deadline stops a run cleanly (SIGINT: it exports the last epoch, timeout exits 124).
  W_CRACKFOREST=110 W_UAV75=5 W_HARD_NEGATIVES=10 timeout -s INT "$seconds" \
    scripts/train_bundled.sh resnet34 "${R34_INIT:-random}" "$r34_epochs" "$r34_steps" "${common[@]}" \
    --name unet-resnet34-gpu --out "$runs/unet-resnet34-gpu" >"$runs/unet-resnet34-gpu.log" 2>&1 &
  r34_pid=$!
  W_CRACKFOREST=300 W_UAV75=5 W_HARD_NEGATIVES=10 timeout -s INT "$seconds" \
    scripts/train_bundled.sh vgg16_bn "${VGG_INIT:-random}" "$vgg_epochs" "$vgg_steps" "${common[@]}" \
    --name unet-vgg16-gpu --out "$runs/unet-vgg16-gpu" >"$runs/unet-vgg16-gpu.log" 2>&1 &
  vgg_pid=$!
  status=0
  for pid in "$r34_pid" "$vgg_pid"; do
    rc=0
    wait "$pid" || rc=$?
    (( rc == 0 || rc == 124 )) || status=$rc
  done
  for name in unet-resnet34-gpu unet-vgg16-gpu; do
    tail -n 3 "$runs/$name.log"
    cp "$runs/$name/metrics.csv" "$runs/$name.metrics.csv" 2>/dev/null || true
  done
  hand_back unet-resnet34-gpu "$out" "$runs"/*.log "$runs"/*.metrics.csv
  exit "$status"
  ;;
fetch)
  out=${OUT:-$runs/out}
  mkdir -p "$out"
  hand_back "$2" "$out"
  ;;
join)  # FROM TO: reassemble every NAME.safetensors.part* in FROM into TO, checked
  mkdir -p "$3"
  for notes in "$2"/*.tar; do
    name=$(basename "$notes" .tar)
    tar -xf "$notes" -C "$3"
    cat "$2/$name.safetensors.part"* >"$3/$name.safetensors"
    (cd "$3" && sha256sum -c "$name.sha256")
  done
  ;;
*)
  echo "usage: $0 train [SECONDS] | fetch NAME | join FROM TO" >&2
  exit 2
  ;;
esac
