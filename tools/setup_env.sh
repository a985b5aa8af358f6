#!/usr/bin/env bash
# Make (or refresh) the csg_mm environment. Idempotent: a second run only checks.
#
#   bash tools/setup_env.sh            # CPU machine: torch from PyPI / local disk, mmcv CPU ops
#   CSG_VENV=/path/to/venv bash tools/setup_env.sh
#   TORCH_SPEC="torch==2.4.1 torchvision==0.19.1" bash tools/setup_env.sh   # another torch pair
#
# Order matters (see README "Installation"): torch + torchvision first, then full mmcv built from
# source against THAT torch without build isolation, then mmengine / mmseg / mmpretrain / csg_mm.
# The built mmcv wheel is cached per (torch version, CUDA or CPU build) under
# $CSG_WHEEL_CACHE, so a second run reuses it and a torch change rebuilds it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CSG_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
MMCV_VERSION="${MMCV_VERSION:-2.1.0}"
WHEEL_CACHE="${CSG_WHEEL_CACHE:-$HOME/.cache/csg_mm/wheels}"

say() { printf '[setup] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

stamp="$VENV/.csg_mm_setup"
want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements"/*.txt 2>/dev/null | sha1sum | cut -c1-12) $TORCH_SPEC mmcv==$MMCV_VERSION"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$PY" -c "import torch, torchvision, mmcv.ops, mmseg, mmpretrain, csg_mm" 2>/dev/null; then
    say "environment $VENV is up to date"
    exit 0
fi

say "step 1/4: pip and setuptools<81 (mmcv's build and mmengine's config inheritance need pkg_resources)"
"${PIP[@]}" install -q --upgrade "pip>=23" "setuptools<81" wheel

say "step 2/4: $TORCH_SPEC (from this machine's disk where it lies there; several GB otherwise)"
# shellcheck disable=SC2086
"${PIP[@]}" install -q $TORCH_SPEC

read -r TORCH_VER TORCH_CUDA < <("$PY" -c "import torch; print(torch.__version__.split('+')[0], 'cuda' + torch.version.cuda.replace('.', '') if torch.cuda.is_available() else 'cpu')")
say "torch $TORCH_VER, mmcv ops for: $TORCH_CUDA"

wheel_dir="$WHEEL_CACHE/torch-$TORCH_VER-$TORCH_CUDA"
mkdir -p "$wheel_dir"
wheel="$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$wheel" ]; then
    say "step 3/4: building mmcv $MMCV_VERSION from source against torch $TORCH_VER ($TORCH_CUDA)"
    say "          this takes about 13 minutes on 2 cores; the wheel is kept in $wheel_dir"
    rm -rf "$wheel_dir.partial" && mkdir -p "$wheel_dir.partial/src"
    "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary mmcv \
        -d "$wheel_dir.partial/src" "mmcv==$MMCV_VERSION"
    # C++20 for torch >= 2.10 headers, CPU or CUDA ops: tools/build_mmcv.sh
    PYTHON="$PY" MMCV_OPS="$([ "$TORCH_CUDA" = cpu ] && echo cpu || echo cuda)" \
        bash "$ROOT/tools/build_mmcv.sh" "$wheel_dir.partial/src/mmcv-$MMCV_VERSION.tar.gz" \
        "$wheel_dir.partial"
    mv "$wheel_dir.partial"/mmcv-"$MMCV_VERSION"-*.whl "$wheel_dir"/
    rm -rf "$wheel_dir.partial"
    wheel="$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
else
    say "step 3/4: mmcv $MMCV_VERSION from the wheel built earlier for this torch: $wheel"
fi
"${PIP[@]}" install -q --no-deps --force-reinstall "$wheel"
# mmcv's own runtime dependencies (its wheel is installed without them, to keep torch as it is).
"${PIP[@]}" install -q addict packaging Pillow pyyaml yapf opencv-python-headless

say "step 4/4: mmengine, mmsegmentation, mmpretrain, test tools, csg_mm (editable)"
"${PIP[@]}" install -q -r "$ROOT/requirements.txt" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"
"$PY" -c "import mmcv.ops, mmseg, mmpretrain, csg_mm; print('[setup] ok: mmcv', mmcv.__version__, 'mmseg', mmseg.__version__, 'mmpretrain', mmpretrain.__version__)"
echo "$want" > "$stamp"
