#!/usr/bin/env bash
# Stage 3 of the bundled ResNet34: more steps on the stage-1 recipe (128 px crops) with a
# lower one-cycle peak, starting from the stage-1 model.
# Usage: scripts/train_bundled_stage3.sh PARENT_MODEL EPOCHS STEPS [extra args]
set -euo pipefail
parent=$1; epochs=$2; steps=$3; shift 3
exec "$(dirname "$0")/train_bundled.sh" resnet34 "$epochs" "$steps" --init "$parent" \
  --lr 4e-4 --out runs/unet-resnet34-stage3 "$@"
