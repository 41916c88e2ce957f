#!/usr/bin/env bash
# Stage 2 of the bundled models: fine-tune the stage-1 model on larger crops (256 px, more
# context per crack, closer to the 448 px inference tiles) with a lower learning rate.
# Usage: scripts/train_bundled_stage2.sh resnet34|vgg16 STAGE1_MODEL EPOCHS STEPS [extra args]
set -euo pipefail
enc=$1; parent=$2; epochs=$3; steps=$4; shift 4
data=${CRACKINSPECTOR_SHARED_DATA:-$(dirname "$0")/../../shared/data}
exec crackinspector-train \
  --images "$data/crackforest/images" --masks "$data/crackforest/masks" \
  --split "$data/crackforest/split.json" --oversample 40 \
  --images "$data/crackpool/images" --masks "$data/crackpool/masks" \
  --split "$data/crackpool/split.json" --oversample 1 \
  --val-limit 300 --init "$parent" \
  --optimiser adamw --lr 5e-4 --weight-decay 1e-4 --schedule onecycle --loss bce_dice \
  --epochs "$epochs" --steps-per-epoch "$steps" --batch-size 8 --crop-size 256 \
  --tile-size 448 --name "unet-$enc" --out "runs/unet-$enc-stage2" --log-every 20 "$@"
