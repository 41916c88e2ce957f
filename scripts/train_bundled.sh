#!/usr/bin/env bash
# Trains a bundled model with our own pipeline on the full data mix (issue 11):
#   CrackForest train 001..060 (oversampled), crackpool train, masonry, uav75 train (its
#   planking lines are background in the crack masks), and the crack-free negatives as
#   all-background samples (about a quarter of all crops).
# Validation (best epoch and default threshold): CrackForest 061..072, 200 crackpool val
# crops, masonry and negatives val parts, uav75 val. CrackForest test (073..118) and the
# held-out test parts of masonry and negatives are never used for training or selection.
# Split files and empty masks come from scripts/prepare_training_data.py (run first; it
# writes runs/data).
# Usage: scripts/train_bundled.sh ENCODER INIT EPOCHS STEPS_PER_EPOCH [extra args]
#   ENCODER resnet34 | vgg16_bn; INIT random | a model name or file to fine-tune.
# Mix weights (oversampling per set) may be changed for a recipe variant with the
# environment variables W_CRACKFOREST W_CRACKPOOL W_MASONRY W_UAV75 W_NEGATIVES;
# W_HARD_NEGATIVES adds the hard negatives of scripts/mine_hard_negatives.py
# (runs/data/negatives-hard.split.json) as one more set at that weight.
set -euo pipefail
enc=$1; init=$2; epochs=$3; steps=$4; shift 4
data=${CRACKINSPECTOR_SHARED_DATA:-$(dirname "$0")/../../shared/data}
prep=${CRACKINSPECTOR_PREPARED_DATA:-runs/data}
name=unet-${enc%_bn}
hard=()
if [[ -n "${W_HARD_NEGATIVES:-}" ]]; then
  hard=(--images "$data/negatives/images" --masks "$prep/negatives/masks"
    --split "$prep/negatives-hard.split.json" --oversample "$W_HARD_NEGATIVES")
fi
exec crackinspector-train \
  --images "$data/crackforest/images" --masks "$data/crackforest/masks" \
  --split "$prep/crackforest.split.json" --oversample "${W_CRACKFOREST:-40}" \
  --images "$data/crackpool/images" --masks "$data/crackpool/masks" \
  --split "$prep/crackpool.split.json" --oversample "${W_CRACKPOOL:-1}" \
  --images "$data/masonry/images" --masks "$data/masonry/masks" \
  --split "$prep/masonry.split.json" --oversample "${W_MASONRY:-10}" \
  --images "$data/uav75/images" --masks "$data/uav75/masks" \
  --split "$prep/uav75.split.json" --oversample "${W_UAV75:-20}" \
  --images "$data/negatives/images" --masks "$prep/negatives/masks" \
  --split "$prep/negatives.split.json" --oversample "${W_NEGATIVES:-3}" "${hard[@]}" \
  --encoder "$enc" --init "$init" \
  --optimiser adamw --lr 2e-3 --weight-decay 1e-4 --schedule onecycle --loss bce_dice \
  --epochs "$epochs" --steps-per-epoch "$steps" --batch-size 16 --crop-size 128 \
  --tile-size 448 --name "$name" --out "runs/$name" --log-every 20 "$@"
