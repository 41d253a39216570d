#!/usr/bin/env bash
# Installs PAT's Debian 12 packages (non-interactive, idempotent) and builds PAT in ./build (Release).
#   tools/setup.sh            install + build
#   tools/setup.sh --no-build install only
# Environment: PAT_BUILD_DIR (default build), PAT_JOBS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config ccache git
  libtorch-dev libopenblas0-openmp      # LibTorch 1.13 (CPU); OpenBLAS: ~35x faster matrix products
  libgloo-dev                           # needed by LibTorch's distributed (c10d) headers
  libopencv-dev libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libicu-dev zlib1g-dev libgtest-dev libgmock-dev
  python3-torch python3-numpy           # fixture generators (tools/gen_*.py); full-size conversion tests
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

[ "${1:-}" = "--no-build" ] && exit 0

BUILD_DIR="${PAT_BUILD_DIR:-build}"
JOBS="${PAT_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: built PAT in $BUILD_DIR (tools in $BUILD_DIR/bin)"
