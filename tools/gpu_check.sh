#!/usr/bin/env bash
# csg_mm on a GPU, in one command (docs/benchmark.md "GPU"):
#
#   bash tools/gpu_check.sh --prepare [BUNDLE_DIR]      here, with the package registry: download
#        the offline bundle (default gpu_bundle/, git-ignored, < 64 MiB): wheels of mmengine,
#        mmsegmentation, mmpretrain and what they need that the GPU image lacks
#        (requirements/gpu_bundle.txt), and mmcv's sdist
#   bash tools/gpu_check.sh [--bundle DIR] [OUT_DIR]    on the GPU machine (bare Python 3.12 +
#        CUDA torch, no registry): install the bundle offline, build mmcv with CPU ops (timed),
#        then `pytest -m gpu`, 100 iterations of configs/csg/deeplabv2_r101_gta5.py on generated
#        GTA5-format data (512 x 512, batch 6) and the benchmark in fp32 / AMP fp16 / AMP bf16
#   bash tools/gpu_check.sh --dry-run [OUT_DIR]         anywhere: the same steps at a tiny size on
#        the CPU, in the current environment (no install); CI runs it
#
# OUT_DIR (default work_dirs/gpu_check) receives at most 8 files: summary.md, summary.json,
# gpu_check.log, pytest.txt, train_scalars.json, benchmark_{fp32,fp16,bf16}.txt. Scratch files
# (data, checkpoints) go to a temporary folder, removed at the end.
# Environment: PYTHON (default python3; --prepare: .venv/bin/python when present),
# GPU_CHECK_BUDGET_S (default 480 s, dry run 7200 s: the phases are cut to end within it),
# GPU_CHECK_SITE (where the bundle is installed and mmcv built; default /tmp/csg_mm_gpu_site,
# kept, so that a second run on the same machine skips both).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=gpu
BUNDLE="$ROOT/gpu_bundle"
OUT_DIR=""
MMCV_VERSION=2.1.0
while [ $# -gt 0 ]; do
    case "$1" in
        --prepare) MODE=prepare ;;
        --dry-run) MODE=dry-run ;;
        --bundle) BUNDLE="$2"; shift ;;
        -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}"; exit 0 ;;
        -*) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) OUT_DIR="$1" ;;
    esac
    shift
done
say() { printf '[gpu_check] %s\n' "$*"; }

if [ "$MODE" = prepare ]; then
    BUNDLE="${OUT_DIR:-$BUNDLE}"
    PY="${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3)}"
    set -e
    mkdir -p "$BUNDLE"
    say "downloading wheels for Python 3.12 / manylinux x86_64 into $BUNDLE"
    "$PY" -m pip --disable-pip-version-check download -q --no-deps --only-binary=:all: \
        --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux1_x86_64 -d "$BUNDLE" -r "$ROOT/requirements/gpu_bundle.txt"
    say "downloading the mmcv $MMCV_VERSION sdist (built on the GPU machine)"
    "$PY" -m pip --disable-pip-version-check download -q --no-deps --no-binary mmcv \
        --no-build-isolation -d "$BUNDLE" "mmcv==$MMCV_VERSION"
    PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m csg_mm.utils.gpu_check check-bundle "$BUNDLE"
    exit
fi

PY="${PYTHON:-python3}"
OUT_DIR="${OUT_DIR:-$ROOT/work_dirs/gpu_check}"
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
for f in summary.md summary.json gpu_check.log pytest.txt train_scalars.json \
        benchmark_fp32.txt benchmark_fp16.txt benchmark_bf16.txt; do
    if [ -e "$OUT_DIR/$f" ]; then
        echo "gpu_check.sh: $OUT_DIR/$f exists: give an empty or new OUT_DIR" >&2
        exit 2
    fi
done
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/csg_gpu_check.XXXXXX")"
exec > >(tee -a "$OUT_DIR/gpu_check.log") 2>&1
TEE_PID=$!
# on exit: let tee write the last lines, then remove the scratch folder
trap 'exec 1>&- 2>&-; wait "$TEE_PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
cd "$ROOT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
START=$(date +%s)
# the GPU run must end inside the device tool's 10-minute command limit; the dry run on a slow,
# shared CPU gets the phases' limits times 10
BUDGET=${GPU_CHECK_BUDGET_S:-$([ "$MODE" = dry-run ] && echo 7200 || echo 480)}
CAP_SCALE=$([ "$MODE" = dry-run ] && echo 10 || echo 1)
RESERVE=20  # kept for the summary

# [LOG=FILE] [NOTE=TEXT] phase NAME CAP_S CMD...: run CMD (its output to FILE when given) with
# at most CAP_S seconds (less when the budget runs short) and record NAME, exit status, seconds
# and TEXT in $SCRATCH/phases.tsv (exit 124: cut at its time limit).
phase() {
    local name="$1" cap="$2" left rc t0 ms
    shift 2
    left=$((START + BUDGET - RESERVE - $(date +%s)))
    if [ "$left" -lt 10 ]; then
        skip "$name" "out of time"
        return 1
    fi
    cap=$((cap * CAP_SCALE))
    [ "$cap" -gt "$left" ] && cap=$left
    say "$name (limit ${cap} s)"
    t0=$(date +%s%N)
    if [ -n "${LOG:-}" ]; then
        timeout --kill-after=15 "$cap" "$@" > "$LOG" 2>&1
    else
        timeout --kill-after=15 "$cap" "$@"
    fi
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%s\t%s\t%d.%03d\t%s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000)) "${NOTE:-}" \
        >> "$SCRATCH/phases.tsv"
    say "$name: exit $rc after $((ms / 1000)) s"
    return $rc
}
skip() { printf '%s\tskipped\t\t%s\n' "$1" "$2" >> "$SCRATCH/phases.tsv"; say "$1: skipped ($2)"; }

if [ "$MODE" = dry-run ]; then
    gpus="$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)"
    export CUDA_VISIBLE_DEVICES='' CSG_MM_GPU_TESTS_ON_CPU=1
    if [ "$gpus" = 0 ]; then
        say "dry run: no GPU present; the same steps at a tiny size on the CPU"
    else
        say "dry run: $gpus GPU(s) present but hidden; the same steps at a tiny size on the CPU"
    fi
    CONFIG=tests/data/configs/tiny_csg_deeplabv2_gta5.py
    DATA_ARGS=(--frames 4 --size 96 72 --val-frames 1 --val-size 64 32 --block 8)
    TRAIN_OPTS=(train_cfg.max_iters=6 train_cfg.val_interval=6 default_hooks.logger.interval=2
                default_hooks.checkpoint.save_last=False param_scheduler.0.end=6)
    BENCH_ARGS=(--iters 1 --warmup 0 --test-size 64 128 --test-iters 1)
    skip "install bundle" "dry run: current environment"
    skip "build mmcv" "dry run: current environment"
else
    if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check.sh: no CUDA GPU visible to $PY: use --dry-run on a machine without one" >&2
        exit 2
    fi
    CONFIG=configs/csg/deeplabv2_r101_gta5.py
    DATA_ARGS=(--frames 8)
    # the paper's GTA5 crop (512 x 512, the config's) and batch (6, on one GPU: DESIGN.md 1.3)
    TRAIN_OPTS=(train_cfg.max_iters=100 train_cfg.val_interval=100
                train_dataloader.batch_size=6 train_dataloader.num_workers=8
                default_hooks.logger.interval=10 default_hooks.checkpoint.save_last=False)
    BENCH_ARGS=(--device cuda --size 512 512 --batch 2 --iters 20 --warmup 5
                --test-size 1024 2048 --test-iters 3)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    SITE="${GPU_CHECK_SITE:-${TMPDIR:-/tmp}/csg_mm_gpu_site}"
    # after the repository: some wheels ship a top-level `tests` package
    export PYTHONPATH="$PYTHONPATH:$SITE" PATH="$SITE/bin:$PATH"
    if "$PY" -c 'import mmcv.ops, mmseg.models, mmpretrain' 2>/dev/null; then
        skip "install bundle" "mmcv, mmseg and mmpretrain already importable"
        skip "build mmcv" "already importable"
    else
        "$PY" -c 'import sysconfig, os; h = os.path.join(sysconfig.get_paths()["include"], "Python.h"); print("[gpu_check] Python.h", h, "present" if os.path.isfile(h) else "MISSING (the mmcv build will fail)")'
        NOTE="$(ls "$BUNDLE"/*.whl 2>/dev/null | wc -l) wheels into $SITE" \
            phase "install bundle" 120 "$PY" -m pip --disable-pip-version-check install -q \
            --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" "$BUNDLE"/*.whl \
            || echo "gpu_check.sh: bundle $BUNDLE missing or broken: make it with --prepare" >&2
        LOG="$SCRATCH/mmcv_build.log" NOTE="CPU ops, MAX_JOBS=$(nproc)" \
            phase "build mmcv" 330 env PYTHON="$PY" MMCV_OPS=cpu bash tools/build_mmcv.sh \
            "$BUNDLE/mmcv-$MMCV_VERSION.tar.gz" "$SCRATCH/mmcv_wheel" \
            || tail -n 40 "$SCRATCH/mmcv_build.log"
        "$PY" -m pip --disable-pip-version-check install -q --no-index --no-deps --no-compile \
            --target "$SITE" "$SCRATCH"/mmcv_wheel/mmcv-*.whl || true
    fi
fi
"$PY" -c 'import mmcv.ops, mmseg.models, mmpretrain, csg_mm' \
    || { echo "gpu_check.sh: the OpenMMLab stack does not import: see above" >&2; }

LOG="$OUT_DIR/pytest.txt" phase "pytest -m gpu" 180 \
    "$PY" -m pytest -m gpu tests/test_gpu -q -rA -p no:cacheprovider
tail -n 25 "$OUT_DIR/pytest.txt"

DATA="$SCRATCH/data"
if phase "make training data" 90 "$PY" -m tests.test_gpu.train_inputs "$CONFIG" "$DATA" \
        "${DATA_ARGS[@]}" --options-out "$SCRATCH/train_opts.txt" \
        && phase "convert GTA5 labels" 60 "$PY" tools/dataset_converters/gta5.py "$DATA/gta5" \
        --nproc 8; then
    mapfile -t DATA_OPTS < "$SCRATCH/train_opts.txt"
    NOTE="$CONFIG" phase "train" 240 "$PY" tools/train.py "$CONFIG" --work-dir "$SCRATCH/train" \
        --cfg-options "${DATA_OPTS[@]}" "${TRAIN_OPTS[@]}"
    scalars="$(ls "$SCRATCH"/train/*/vis_data/scalars.json 2>/dev/null | head -n1)"
    [ -n "$scalars" ] && cp "$scalars" "$OUT_DIR/train_scalars.json"
fi

for amp in fp32 fp16 bf16; do
    if [ "$MODE" = dry-run ] && [ $amp = fp16 ]; then
        skip "benchmark fp16" "dry run: the CPU autocasts in bfloat16 only"
        continue
    fi
    case $amp in
        fp32) flags=() ;;
        fp16) flags=(--amp --amp-dtype float16) ;;
        bf16) flags=(--amp --amp-dtype bfloat16) ;;
    esac
    LOG="$OUT_DIR/benchmark_$amp.txt" phase "benchmark $amp" 120 \
        "$PY" tools/analysis_tools/benchmark.py "$CONFIG" "${BENCH_ARGS[@]}" "${flags[@]}"
    tail -n 40 "$OUT_DIR/benchmark_$amp.txt"
done

say "summary (also in $OUT_DIR/summary.md)"
"$PY" -m csg_mm.utils.gpu_check summary "$OUT_DIR" "$SCRATCH" --mode "$MODE"
exit $?
