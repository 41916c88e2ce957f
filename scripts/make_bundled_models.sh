#!/usr/bin/env bash
# Makes both bundled models end to end, the way the shipped ones were made (issue 11), and
# installs them in resources/models. Hours of CPU: every stage is a resumable training run
# (re-run this script after a stop and add --resume to the stage that was cut), and each
# stage's model is left in runs/export.
#
#   scripts/make_bundled_models.sh            # all stages
#   STAGES="mix ship" scripts/make_bundled_models.sh   # from the v1 models on
#
# Stages:
#   v1   from random weights on CrackForest (its literature train split, 001..072) and
#        crackpool (train; validation on its val split): the 1.x models. unet-resnet34 had
#        a second v1 stage of 4 x 220 steps from the first.
#   mix  the v1 models fine-tuned on the full mix of scripts/train_bundled.sh (CrackForest
#        001..060, crackpool, masonry, uav75, crack-free negatives; validation on CrackForest
#        061..072 and the sets' val parts). The VGG16 is first moved onto a vgg16_bn encoder
#        (scripts/vgg16_bn_from_vgg16.py: the same function, batch norms set to identity).
#   ship scripts/ship_model.py: renamed, scored on every set, threshold from validation,
#        precision checks, manifest. unet-resnet34 only; the VGG with SHIP_VGG=1 (the shipped
#        unet-vgg16 is still the v1 model: its mix run, finished, missed most CrackForest
#        cracks, docs/MODELS.md).
# CrackForest test (073..118) is never trained on or used for selection in any stage.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${CRACKINSPECTOR_SHARED_DATA:-../shared/data}
stages=${STAGES:-v1 mix ship}
py=${PYTHON:-.venv/bin/python}
train() { PATH="$(dirname "$py"):$PATH" crackinspector-train "$@"; }

v1() {  # encoder epochs steps name [init] [lr]
  train --images "$data/crackforest/images" --masks "$data/crackforest/masks" \
    --split "$data/crackforest/split.json" --oversample 40 \
    --images "$data/crackpool/images" --masks "$data/crackpool/masks" \
    --split "$data/crackpool/split.json" --oversample 1 \
    --encoder "$1" --init "${5:-random}" --optimiser adamw --lr "${6:-2e-3}" --weight-decay 1e-4 \
    --schedule onecycle --loss bce_dice --epochs "$2" --steps-per-epoch "$3" --batch-size 16 \
    --crop-size 128 --tile-size 448 --val-limit 300 --threads 1 --name "$4" --out "runs/$4" \
    --export-dir runs/export
}

if [[ " $stages " == *" v1 "* ]]; then
  v1 resnet34 6 250 unet-resnet34-v1a
  v1 resnet34 4 220 unet-resnet34-v1 runs/export/unet-resnet34-v1a.safetensors 4e-4
  v1 vgg16 6 110 unet-vgg16-v1
  r34_parent=runs/export/unet-resnet34-v1.safetensors
  vgg_parent=runs/export/unet-vgg16-v1.safetensors
else  # the shipped 1.x models (git history) as the parents
  r34_parent=${R34_PARENT:-resources/models/unet-resnet34.safetensors}
  vgg_parent=${VGG_PARENT:-resources/models/unet-vgg16.safetensors}
fi

r34_mix=(scripts/train_bundled.sh resnet34 "$r34_parent" 12 25 --lr 3e-4 --val-limit 160
  --threads 1 --name unet-resnet34-mix --export-dir runs/export)
vgg_init=(scripts/vgg16_bn_from_vgg16.py --parent "$vgg_parent" --out runs/init)
vgg_mix=(scripts/train_bundled.sh vgg16_bn runs/init/unet-vgg16-bn-init.safetensors 6 60
  --lr 1e-3 --val-limit 120 --threads 1 --name unet-vgg16-mix --export-dir runs/export)
if [[ " $stages " == *" mix "* ]]; then
  "$py" scripts/prepare_training_data.py
  PATH="$(dirname "$py"):$PATH" "${r34_mix[@]}" &  # one core each, side by side
  r34_pid=$!
  "$py" "${vgg_init[@]}"
  PATH="$(dirname "$py"):$PATH" "${vgg_mix[@]}"
  wait "$r34_pid"  # its exit status: a failed ResNet34 run stops the script here
fi

if [[ " $stages " == *" ship "* ]]; then
  "$py" scripts/ship_model.py runs/export/unet-resnet34-mix.safetensors --name unet-resnet34 \
    --recipe "python scripts/prepare_training_data.py" --recipe "${r34_mix[*]}"
  if [[ -n "${SHIP_VGG:-}" ]]; then  # 2.0 ships 1.x's VGG: its mix run lost CrackForest
    "$py" scripts/ship_model.py runs/export/unet-vgg16-mix.safetensors --name unet-vgg16 \
      --recipe "python scripts/prepare_training_data.py" --recipe "python ${vgg_init[*]}" \
      --recipe "${vgg_mix[*]}"
  fi
fi
