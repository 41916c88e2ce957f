#!/usr/bin/env bash
# Makes both bundled models end to end, the way the shipped ones were made (issue 11), and
# installs them in resources/models. Hours of CPU: every stage is a resumable training run
# (re-run this script after a stop and add --resume to the stage that was cut), and each
# stage's model is left in runs/export.
#
#   scripts/make_bundled_models.sh                      # all stages
#   STAGES="mix hn long ema ema2 ema3 ema4 kd kdlong ship" scripts/make_bundled_models.sh  # from 1.x (git history)
#   STAGES="hn long ema ema2 ema3 ema4 kd kdlong ship" scripts/make_bundled_models.sh  # also 2.0 from git
#   STAGES="ema ema2 ema3 ema4 kd kdlong ship" scripts/make_bundled_models.sh  # from 2.2 / 2.1 (git history)
#   STAGES="ema2 ema3 ema4 kd kdlong ship" scripts/make_bundled_models.sh  # from 2.3 / 2.2 (git history)
#   STAGES="ema3 ema4 kd kdlong ship" scripts/make_bundled_models.sh  # from 2.4 / 2.2 (git history)
#   STAGES="ema4 kd kdlong ship" scripts/make_bundled_models.sh  # from 2.5 / 2.3 (git history)
#   STAGES="kd kdlong ship" scripts/make_bundled_models.sh  # from 2.6 / 2.4 (git history)
#   STAGES="kdlong ship" scripts/make_bundled_models.sh  # from 2.6 / 2.4 / VGG 2.5 (git)
#
# Stages:
#   v1   from random weights on CrackForest (its literature train split, 001..072) and
#        crackpool (train; validation on its val split): the 1.x models. unet-resnet34 had
#        a second v1 stage of 4 x 220 steps from the first.
#   mix  unet-resnet34 1.x fine-tuned on the full mix of scripts/train_bundled.sh
#        (CrackForest 001..060, crackpool, masonry, uav75, crack-free negatives; validation
#        on CrackForest 061..072 and the sets' val parts): unet-resnet34 2.0, used here only
#        to mine hard negatives.
#   hn   scripts/mine_hard_negatives.py: the training negatives 2.0 marks > 0.5 %, then both
#        1.x models fine-tuned on the mix with CrackForest at weight 110 (about a third of
#        the crops), uav75 at 5 and the hard negatives as one more set at weight 10: the
#        ResNet34 run is unet-resnet34 2.1. The VGG16's two decoder batch norms whose
#        variances 1.0's float16 file held as inf are first re-estimated
#        (scripts/recalibrate_bn.py), then it is moved onto a vgg16_bn encoder
#        (scripts/vgg16_bn_from_vgg16.py: the same function, batch norms set to identity)
#        and trained: unet-vgg16 2.1.
#   long unet-resnet34 2.1 as shipped (git history) trained on, on the same mix, for
#        8 x 200 steps: unet-resnet34 2.2.
#   ema  unet-resnet34 2.2 and unet-vgg16 2.1 as shipped (git history) trained on with a
#        moving average of the weights (--ema 0.999, validated and exported): the ResNet34
#        on the same mix for 14 x 200 steps (unet-resnet34 2.3), the VGG16 with CrackForest
#        at weight 300 (about half of the crops) for 7 x 200 steps (unet-vgg16 2.2).
#   ema2 unet-resnet34 2.3 trained on, same mix, 16 x 200 steps at a peak of 2e-4 with the
#        average, its last epoch exported (--export last): unet-resnet34 2.4.
#   ema3 unet-resnet34 2.4 trained on with CrackForest at weight 300 (about half the crops),
#        16 x 200 steps at 2e-4 with the average, last epoch exported, then averaged 0.5 / 0.5
#        with 2.4 itself (scripts/soup_models.py): unet-resnet34 2.5. unet-vgg16 2.2 trained
#        on, same cf300 mix, 16 x 200 steps at 2e-4 with the average, last epoch exported:
#        unet-vgg16 2.3 (the shipped one was stopped for time after epoch 15 of the 16 and
#        exported there; its card's exported_epoch says so).
#   ema4 unet-resnet34 2.5 trained on, same cf300 mix, 16 x 200 steps at a peak of 1.5e-4
#        with the average, last epoch exported: unet-resnet34 2.6 (its average with 2.5
#        scored below the run alone on all validation photos). unet-vgg16 2.3 trained on,
#        same mix, 9 x 200 steps at 2e-4 with the average, last epoch exported, then averaged
#        0.5 / 0.5 with 2.3 itself: unet-vgg16 2.4.
#   kd   unet-vgg16 2.4 trained on, same cf300 mix, 7 x 200 steps at 2e-4 with the average,
#        last epoch exported, distilled from unet-resnet34 2.6 (--teacher: its probabilities
#        on each crop as a second target) at --distill-weight 1: unet-vgg16 2.5 (above 2.4
#        and above its 0.5 / 0.5 average with 2.4 on all validation photos). Weight 3 runs
#        beside it as the variant (stopped after one epoch in the session that shipped 2.5).
#   kdlong  the same distillation from unet-vgg16 2.4 for a longer schedule, 13 x 200 steps
#        on both cores, then averaged 0.5 / 0.5 with the kd stage's run (2.5):
#        unet-vgg16 2.6 (the average scored above 2.5 and above the long run alone on all
#        validation photos). Without the kd stage it averages with 2.5 as shipped (float16,
#        from git), not the kd run's float32 export, so its weights differ in the last bits.
#   ship scripts/ship_model.py: renamed, scored on every set, threshold from all validation
#        photos (strict + 2-px F1; unet-vgg16 2.2.1 is 2.2 with that threshold), precision
#        checks, manifest.
# CrackForest test (073..118) is never trained on or used for selection in any stage.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${CRACKINSPECTOR_SHARED_DATA:-../shared/data}
stages=${STAGES:-v1 mix hn long ema ema2 ema3 ema4 kd kdlong ship}
has() { [[ " $stages " == *" $1 "* ]]; }  # stage name: is it one of this run's stages
py=${PYTHON:-.venv/bin/python}
venv() { env PATH="$(dirname "$py"):$PATH" "$@"; }  # [VAR=value ...] command, venv first on PATH
train() { venv crackinspector-train "$@"; }
from_git() {  # commit name tag: a shipped model of git history -> runs/init/name-tag.*
  mkdir -p runs/init
  for ext in safetensors json; do
    git show "$1:resources/models/$2.$ext" > "runs/init/$2-$3.$ext"
  done
}

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

if has v1; then
  v1 resnet34 6 250 unet-resnet34-v1a
  v1 resnet34 4 220 unet-resnet34-v1 runs/export/unet-resnet34-v1a.safetensors 4e-4
  v1 vgg16 6 110 unet-vgg16-v1
  r34_parent=runs/export/unet-resnet34-v1.safetensors
  vgg_parent=runs/export/unet-vgg16-v1.safetensors
else  # the shipped 1.x models, from git history
  from_git 812277b unet-resnet34 v1
  from_git 6eac5e5 unet-vgg16 v1
  r34_parent=runs/init/unet-resnet34-v1.safetensors
  vgg_parent=runs/init/unet-vgg16-v1.safetensors
fi
"$py" scripts/prepare_training_data.py

r34_mix=(scripts/train_bundled.sh resnet34 "$r34_parent" 12 25 --lr 3e-4 --val-limit 160
  --threads 1 --name unet-resnet34-mix --export-dir runs/export)
if has mix; then
  venv "${r34_mix[@]}"
  miner=runs/export/unet-resnet34-mix.safetensors
else  # 2.0 as shipped, from git history
  from_git 90a21f1 unet-resnet34 2.0
  miner=runs/init/unet-resnet34-2.0.safetensors
fi

hn=(W_CRACKFOREST=110 W_UAV75=5 W_HARD_NEGATIVES=10)
r34_hn=(scripts/train_bundled.sh resnet34 "$r34_parent" 12 25 --lr 3e-4 --val-limit 160
  --threads 2 --name unet-resnet34-cf110-hn --out runs/unet-resnet34-cf110-hn
  --export-dir runs/export)
# the two decoder batch norms whose variances float16 stored as inf in 1.0, re-estimated on
# training crops before the VGG moves onto vgg16_bn and trains (validation and the best
# epoch then see a whole decoder)
vgg_recal=(scripts/recalibrate_bn.py "$vgg_parent" --name unet-vgg16-v1-recal --out runs/init)
vgg_init=(scripts/vgg16_bn_from_vgg16.py --parent runs/init/unet-vgg16-v1-recal.safetensors
  --out runs/init --name unet-vgg16-bn-init-recal)
vgg_hn=(scripts/train_bundled.sh vgg16_bn runs/init/unet-vgg16-bn-init-recal.safetensors 6 110
  --lr 3e-4 --val-limit 60 --threads 1 --name unet-vgg16-recal-hn --out runs/unet-vgg16-recal-hn
  --export-dir runs/export)
# unet-resnet34 2.2: 2.1 as shipped (float16, from git history) trained on for 8 x 200 steps
# on the same mix
r34_long=(scripts/train_bundled.sh resnet34 runs/init/unet-resnet34-2.1.safetensors 8 200
  --lr 3e-4 --val-limit 160 --threads 1 --name unet-resnet34-long --out runs/unet-resnet34-long
  --export-dir runs/export)
# unet-resnet34 2.3 and unet-vgg16 2.2: 2.2 and 2.1 as shipped (float16, git history) trained
# on with a weight average; the VGG with CrackForest at weight 300 instead of 110
# (this script's own 2.2 when it runs the long stage, its own VGG 2.1 when it runs hn)
r34_ema_init=runs/init/unet-resnet34-2.2.safetensors
has long && r34_ema_init=runs/export/unet-resnet34-long.safetensors
vgg_ema_init=runs/init/unet-vgg16-2.1.safetensors
has hn && vgg_ema_init=runs/export/unet-vgg16-recal-hn.safetensors
r34_ema=(scripts/train_bundled.sh resnet34 "$r34_ema_init" 14 200
  --lr 3e-4 --val-limit 160 --ema 0.999 --threads 1 --name unet-resnet34-ema
  --out runs/unet-resnet34-ema --export-dir runs/export)
cf300=(W_CRACKFOREST=300 W_UAV75=5 W_HARD_NEGATIVES=10)
vgg_ema=(scripts/train_bundled.sh vgg16_bn "$vgg_ema_init" 7 200
  --lr 3e-4 --val-limit 100 --ema 0.999 --threads 1 --name unet-vgg16-cf300-ema
  --out runs/unet-vgg16-cf300-ema --export-dir runs/export)
# unet-resnet34 2.4: 2.3 (this script's own when the ema stage runs) trained on at a lower
# peak, the average at the end of the schedule exported
r34_ema2_init=runs/init/unet-resnet34-2.3.safetensors
has ema && r34_ema2_init=runs/export/unet-resnet34-ema.safetensors
r34_ema2=(scripts/train_bundled.sh resnet34 "$r34_ema2_init" 16 200
  --lr 2e-4 --val-limit 160 --ema 0.999 --export last --threads 1 --name unet-resnet34-ema2
  --out runs/unet-resnet34-ema2 --export-dir runs/export)
# unet-resnet34 2.5: 2.4 (this script's own when ema2 runs) trained on with CrackForest at
# 300, then the 0.5 / 0.5 weight average of that run and 2.4; unet-vgg16: 2.2 trained on with
# the same mix at the lower peak (this script's own 2.2 when the ema stage runs)
r34_ema3_init=runs/init/unet-resnet34-2.4.safetensors
has ema2 && r34_ema3_init=runs/export/unet-resnet34-ema2.safetensors
r34_ema3=(scripts/train_bundled.sh resnet34 "$r34_ema3_init" 16 200
  --lr 2e-4 --val-limit 160 --ema 0.999 --export last --threads 1 --name unet-resnet34-cf300
  --out runs/unet-resnet34-cf300 --export-dir runs/export)
r34_soup=(scripts/soup_models.py "$r34_ema3_init" runs/export/unet-resnet34-cf300.safetensors
  --alphas 0.5 --name unet-resnet34-soup --out runs/candidates)
vgg_ema3_init=runs/init/unet-vgg16-2.2.safetensors
has ema && vgg_ema3_init=runs/export/unet-vgg16-cf300-ema.safetensors
vgg_ema3=(scripts/train_bundled.sh vgg16_bn "$vgg_ema3_init" 16 200
  --lr 2e-4 --val-limit 100 --ema 0.999 --export last --threads 1 --name unet-vgg16-ema2
  --out runs/unet-vgg16-ema2 --export-dir runs/export)
# unet-resnet34 2.6 and unet-vgg16 2.4: 2.5 and 2.3 (this script's own when ema3 runs)
# trained on with the cf300 mix
r34_ema4_init=runs/init/unet-resnet34-2.5.0.safetensors
has ema3 && r34_ema4_init=runs/candidates/unet-resnet34-soup-a0.5.safetensors
r34_ema4=(scripts/train_bundled.sh resnet34 "$r34_ema4_init" 16 200
  --lr 1.5e-4 --val-limit 160 --ema 0.999 --export last --threads 1 --name unet-resnet34-cf300b
  --out runs/unet-resnet34-cf300b --export-dir runs/export)
vgg_ema4_init=runs/init/unet-vgg16-2.3.0.safetensors
has ema3 && vgg_ema4_init=runs/export/unet-vgg16-ema2.safetensors
vgg_ema4=(scripts/train_bundled.sh vgg16_bn "$vgg_ema4_init" 9 200
  --lr 2e-4 --val-limit 100 --ema 0.999 --export last --threads 1 --name unet-vgg16-ema3
  --out runs/unet-vgg16-ema3 --export-dir runs/export)
vgg_soup=(scripts/soup_models.py "$vgg_ema4_init" runs/export/unet-vgg16-ema3.safetensors
  --alphas 0.5 --name unet-vgg16-soup3 --out runs/candidates --run runs/unet-vgg16-ema3)
# unet-vgg16 2.5: 2.4 (this script's own when ema4 runs) distilled from unet-resnet34 2.6
# (this script's own when ema4 runs)
kd_student=runs/init/unet-vgg16-2.4.0.safetensors
has ema4 && kd_student=runs/candidates/unet-vgg16-soup3-a0.5.safetensors
kd_teacher=runs/init/unet-resnet34-2.6.0.safetensors
has ema4 && kd_teacher=runs/export/unet-resnet34-cf300b.safetensors
vgg_kd=(scripts/train_bundled.sh vgg16_bn "$kd_student" 7 200 --lr 2e-4 --val-limit 100
  --ema 0.999 --export last --threads 1 --teacher "$kd_teacher")
vgg_kd1=("${vgg_kd[@]}" --distill-weight 1 --name unet-vgg16-kd1 --out runs/unet-vgg16-kd1
  --export-dir runs/export)
vgg_kd3=("${vgg_kd[@]}" --distill-weight 3 --name unet-vgg16-kd3 --out runs/unet-vgg16-kd3
  --export-dir runs/export)
# unet-vgg16 2.6: the same distillation for longer, averaged with the kd run
kd1_model=runs/export/unet-vgg16-kd1.safetensors
has kd || kd1_model=runs/init/unet-vgg16-2.5.0.safetensors
vgg_kdlong=(scripts/train_bundled.sh vgg16_bn "$kd_student" 13 200 --lr 2e-4 --val-limit 100
  --ema 0.999 --export last --threads 2 --teacher "$kd_teacher" --distill-weight 1
  --name unet-vgg16-kdlong --out runs/unet-vgg16-kdlong --export-dir runs/export)
vgg_kdsoup=(scripts/soup_models.py "$kd1_model" runs/export/unet-vgg16-kdlong.safetensors
  --alphas 0.5 --name unet-vgg16-kdlongsoup --out runs/candidates --run runs/unet-vgg16-kdlong)
if has hn; then
  "$py" scripts/mine_hard_negatives.py "$miner"
  venv "${hn[@]}" "${r34_hn[@]}"
  "$py" "${vgg_recal[@]}"
  "$py" "${vgg_init[@]}"
  venv "${hn[@]}" "${vgg_hn[@]}"
fi
if has long; then
  from_git dc1d2b9 unet-resnet34 2.1
  venv "${hn[@]}" "${r34_long[@]}"
fi
if has ema; then
  has long || from_git 4e65903 unet-resnet34 2.2
  has hn || from_git 4e65903 unet-vgg16 2.1
  venv "${hn[@]}" "${r34_ema[@]}"
  venv "${cf300[@]}" "${vgg_ema[@]}"
fi
if has ema2; then
  has ema || from_git 7e2cd64 unet-resnet34 2.3
  venv "${hn[@]}" "${r34_ema2[@]}"
fi
if has ema3; then
  has ema2 || from_git 8dbdf0c unet-resnet34 2.4
  has ema || from_git 8dbdf0c unet-vgg16 2.2
  venv "${cf300[@]}" "${r34_ema3[@]}"
  "$py" "${r34_soup[@]}"
  venv "${cf300[@]}" "${vgg_ema3[@]}"
fi
if has ema4; then
  has ema3 || from_git 45a3cb0 unet-resnet34 2.5.0
  has ema3 || from_git 45a3cb0 unet-vgg16 2.3.0
  venv "${cf300[@]}" "${r34_ema4[@]}"
  venv "${cf300[@]}" "${vgg_ema4[@]}"
  "$py" "${vgg_soup[@]}"
fi
if has kd; then
  has ema4 || from_git 426ca2f unet-vgg16 2.4.0
  has ema4 || from_git 426ca2f unet-resnet34 2.6.0
  # the two weights side by side, one core each
  venv "${cf300[@]}" "${vgg_kd1[@]}" &
  kd1=$!
  venv "${cf300[@]}" "${vgg_kd3[@]}" &
  kd3=$!
  wait "$kd1"; wait "$kd3"  # a failed run fails the stage
fi
if has kdlong; then
  has kd || has ema4 || from_git 426ca2f unet-vgg16 2.4.0
  has kd || has ema4 || from_git 426ca2f unet-resnet34 2.6.0
  has kd || from_git 8d373bb unet-vgg16 2.5.0
  venv "${cf300[@]}" "${vgg_kdlong[@]}"
  "$py" "${vgg_kdsoup[@]}"
fi

if has ship; then
  prep="python scripts/prepare_training_data.py"
  mine="python scripts/mine_hard_negatives.py $miner"
  if has ema4; then  # without it the ResNet34 2.6 of git history stays as it is
    "$py" scripts/ship_model.py runs/export/unet-resnet34-cf300b.safetensors \
      --name unet-resnet34 --version 2.6.0 \
      --recipe "$prep" --recipe "$mine" --recipe "${hn[*]} ${r34_hn[*]}" \
      --recipe "${hn[*]} ${r34_long[*]}" --recipe "${hn[*]} ${r34_ema[*]}" \
      --recipe "${hn[*]} ${r34_ema2[*]}" --recipe "${cf300[*]} ${r34_ema3[*]}" \
      --recipe "python ${r34_soup[*]}" --recipe "${cf300[*]} ${r34_ema4[*]}"
  fi
  "$py" scripts/ship_model.py runs/candidates/unet-vgg16-kdlongsoup-a0.5.safetensors \
    --name unet-vgg16 --version 2.6.0 \
    --recipe "$prep" --recipe "$mine" --recipe "python ${vgg_recal[*]}" \
    --recipe "python ${vgg_init[*]}" --recipe "${hn[*]} ${vgg_hn[*]}" \
    --recipe "${cf300[*]} ${vgg_ema[*]}" --recipe "${cf300[*]} ${vgg_ema3[*]}" \
    --recipe "${cf300[*]} ${vgg_ema4[*]}" --recipe "python ${vgg_soup[*]}" \
    --recipe "${cf300[*]} ${vgg_kd1[*]}" --recipe "${cf300[*]} ${vgg_kdlong[*]}" \
    --recipe "python ${vgg_kdsoup[*]}"
fi
