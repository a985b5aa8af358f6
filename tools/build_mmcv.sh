#!/usr/bin/env bash
# Build a full mmcv wheel (compiled ops) from its sdist against the torch of $PYTHON, offline.
#
#   bash tools/build_mmcv.sh SDIST WHEEL_DIR
#
# SDIST is mmcv-X.Y.Z.tar.gz; the wheel is written to WHEEL_DIR. Environment:
#   PYTHON    the interpreter whose torch the ops are built against (default python3). Its
#             environment (PYTHONPATH included) must hold setuptools<81 (mmcv's setup.py imports
#             pkg_resources), wheel and ninja: the build runs without isolation.
#   MMCV_OPS  cpu or cuda (default: cuda when that torch sees a GPU, else cpu)
#   MAX_JOBS  parallel compile jobs (default: all cores)
# Used by tools/setup_env.sh and tools/gpu_check.sh.
set -euo pipefail

if [ $# -ne 2 ] || [ ! -f "$1" ]; then
    echo "usage: bash tools/build_mmcv.sh SDIST WHEEL_DIR (SDIST: an existing mmcv-X.Y.Z.tar.gz)" >&2
    exit 2
fi
SDIST="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
OUT="$2"
PY="${PYTHON:-python3}"
OPS="${MMCV_OPS:-$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$SDIST" -C "$work"
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'mmcv-*' | head -n1)"
# mmcv's setup.py pins -std=c++14/17, but torch >= 2.10 headers need C++20: build a copy of the
# sources with the standard raised (C++20 also builds against older torch).
sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
    -e 's#/std:c++14#/std:c++20#g' -e 's#/std:c++17#/std:c++20#g' "$src/setup.py"

export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
if [ "$OPS" = cpu ]; then
    # mmcv's setup.py compiles CUDA kernels whenever torch sees a GPU: hide it. No debug info,
    # -O1: 2.5x faster to compile than Python's default "-g -O3" (measured: 32 s vs 80 s for one
    # op file); CSG runs no mmcv op on its training path.
    export CUDA_VISIBLE_DEVICES='' FORCE_CUDA=0
    export CFLAGS="${CFLAGS:-} ${MMCV_CPU_CFLAGS:--g0 -O1}"
else
    export FORCE_CUDA=1
fi
mkdir -p "$OUT"
# --no-cache-dir: pip's own wheel cache ignores the torch version mmcv was built against.
"$PY" -m pip --disable-pip-version-check wheel --no-deps --no-build-isolation --no-cache-dir \
    --no-index -w "$OUT" "$src"
