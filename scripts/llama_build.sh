#!/usr/bin/env bash
# Build llama-cpp-python for an explicit CPU level and install it into a venv.
#
#   scripts/llama_build.sh LEVEL PYTHON [WHEEL_ROOT]
#
# WHEEL_ROOT defaults to ~/.cache/notesqa/wheels, so a second clone or a CI run on the
# same machine reuses a build with the very same flags instead of compiling again.
#
# llama.cpp's default build (GGML_NATIVE=ON) compiles for the build host's CPU. On a VM
# whose CPU reports AMX but whose hypervisor does not enable the AMX tile state, that
# build dies with SIGILL on the first long prompt; an image built on one host dies the
# same way on an older one. So the level is always named, and the default is a baseline
# every x86-64-v3 CPU runs (Haswell, 2013, and Zen 1 on).
#
# pip caches a built wheel by its source archive, not by CMAKE_ARGS, so a wheel built
# with other flags could be reused silently. This script never uses pip's cache for
# llama-cpp-python: wheels live in WHEEL_ROOT in a folder named after the version, the
# level and a hash of the exact flags and the machine architecture, and are installed
# from there only.
set -euo pipefail

level=${1:?usage: $0 LEVEL PYTHON [WHEEL_ROOT]}
python=${2:?usage: $0 LEVEL PYTHON [WHEEL_ROOT]}
root=${3:-${XDG_CACHE_HOME:-$HOME/.cache}/notesqa/wheels}
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(grep -o 'llama-cpp-python==[0-9.]*' "$here/pyproject.toml" | head -1 | cut -d= -f3)

# Never AMX, never the runtime-dispatched variants (they can pick AMX on such a VM).
common="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF"
common+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
v3="-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
case "$level" in
  x86-64-v3)  # the default: AVX2, FMA, F16C, BMI2
    args="$common $v3 -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF"
    args+=" -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF" ;;
  avx512)     # opt-in: + AVX-512 F/CD/VL/DQ/BW and VNNI (Cascade Lake, Ice Lake, Zen 4 on)
    args="$common $v3 -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX_VNNI=OFF"
    args+=" -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_BF16=OFF" ;;
  x86-64)     # opt-in: any x86-64 CPU, SSE2 only (Atom/Celeron/Pentium without AVX2, pre-2013)
    args="$common -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
    args+=" -DGGML_BMI2=OFF -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF"
    args+=" -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF" ;;
  generic)    # not x86-64 (arm64): llama.cpp's portable defaults for that architecture
    args="$common" ;;
  native)     # opt-in: whatever the build host has, AMX included; only for that machine
    args="-DGGML_NATIVE=ON" ;;
  *)
    echo "unknown LLAMA_CPU=$level; use x86-64-v3 (default), x86-64, avx512, native or generic" >&2
    exit 2 ;;
esac

if [ "${LLAMA_PRINT_ARGS:-}" = 1 ]; then  # for the tests and the curious
  echo "$args"
  exit 0
fi

key=$(printf '%s %s %s' "$version" "$(uname -m)" "$args" | sha256sum | cut -c1-12)
mkdir -p "$root"
dir="$root/llama-cpp-python-$version-$level-$key"
if ! ls "$dir"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $version for LLAMA_CPU=$level (a few minutes, once)"
  echo "CMAKE_ARGS=$args"
  rm -rf "$dir.tmp"
  # FORCE_CMAKE: build from source even where a binary wheel would match.
  CMAKE_ARGS="$args" FORCE_CMAKE=1 "$python" -m pip wheel -q --no-deps --no-cache-dir \
    --no-binary llama-cpp-python -w "$dir.tmp" "llama-cpp-python==$version"
  mv "$dir.tmp" "$dir"  # only a finished build gets the name that is reused
fi
# From that folder only (--no-index), then its own dependencies (numpy, jinja2, ...) by
# name from the index as usual.
"$python" -m pip install -q --no-deps --no-index --force-reinstall --find-links "$dir" \
  "llama-cpp-python==$version"
"$python" - <<'PY' | "$python" -m pip install -q -r /dev/stdin
from importlib.metadata import requires
print("\n".join(r for r in requires("llama-cpp-python") or [] if "extra ==" not in r))
PY
# What was built, for `notesqa models check` and the tests.
"$python" - "$level" "$args" "$version" "$key" <<'PY'
import json, sys
from pathlib import Path
level, args, version, key = sys.argv[1:]
record = {"level": level, "cmake_args": args, "version": version, "key": key}
Path(sys.prefix, "notesqa-llama-build.json").write_text(json.dumps(record, indent=1) + "\n")
PY
echo "llama-cpp-python $version installed for LLAMA_CPU=$level"
