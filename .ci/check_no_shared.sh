#!/usr/bin/env bash
# Fails when anything the build, the tests, the tools or the configs use names the steering folder that
# sits beside this repository's own CI checkout only (users' clones have no such folder): data comes
# from third_party/ (vendored, with licence and provenance).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\.\./shared\b|/work/shared\b'
if hits=$(grep -rnE "$pattern" tests tools src cmake configs CMakeLists.txt); then
  echo "error: these lines name ../shared (use the vendored data in third_party/ through pat/core/resources.h):"
  echo "$hits"
  exit 1
fi
echo "no path into ../shared under tests/, tools/, src/, cmake/, configs/"
