#!/usr/bin/env bash
# Stage 2 of the bundled models: fine-tune the stage-1 model on larger crops (256 px, more
# context per crack, closer to the 448 px inference tiles) with a lower learning rate.
# Same data and recipe as train_bundled.sh; the later arguments override its defaults.
# Usage: scripts/train_bundled_stage2.sh resnet34|vgg16 STAGE1_MODEL EPOCHS STEPS [extra args]
set -euo pipefail
enc=$1; parent=$2; epochs=$3; steps=$4; shift 4
exec "$(dirname "$0")/train_bundled.sh" "$enc" "$epochs" "$steps" --init "$parent" \
  --lr 5e-4 --batch-size 8 --crop-size 256 --out "runs/unet-$enc-stage2" "$@"
