#!/usr/bin/env bash
# Trains the two bundled models with our own pipeline, exactly as shipped in resources/models.
# Usage: scripts/train_bundled.sh resnet34|vgg16 EPOCHS STEPS_PER_EPOCH [extra args]
# Data: CrackForest train split (oversampled) + crackpool train split; validation on a fixed
# 300-image subset of crackpool val. CrackForest test is never used for training or selection.
set -euo pipefail
enc=$1; epochs=$2; steps=$3; shift 3
data=${CRACKINSPECTOR_SHARED_DATA:-$(dirname "$0")/../../shared/data}
exec crackinspector-train \
  --images "$data/crackforest/images" --masks "$data/crackforest/masks" \
  --split "$data/crackforest/split.json" --oversample 40 \
  --images "$data/crackpool/images" --masks "$data/crackpool/masks" \
  --split "$data/crackpool/split.json" --oversample 1 \
  --val-limit 300 --encoder "$enc" --init random \
  --optimiser adamw --lr 2e-3 --weight-decay 1e-4 --schedule onecycle --loss bce_dice \
  --epochs "$epochs" --steps-per-epoch "$steps" --batch-size 16 --crop-size 128 \
  --tile-size 448 --name "unet-$enc" --out "runs/unet-$enc" --log-every 20 "$@"
