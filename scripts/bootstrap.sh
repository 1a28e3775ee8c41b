#!/usr/bin/env bash
# Installs every system package llmc needs on Debian 12 (as root, or through
# sudo). Idempotent: when all is there it only checks, in about a second.
set -euo pipefail

packages=(
  # compiler infrastructure: LLVM/MLIR 19 from Debian
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools clang-19 lld-19
  # LLVMSupport's CMake export names zstd::libzstd_shared
  libzstd-dev
  # libFuzzer and AddressSanitizer runtimes for the fuzz targets
  libclang-rt-19-dev
  # build
  cmake ninja-build ccache git python3
  # runtime: JSON without LLVM; unit tests
  nlohmann-json3-dev libgtest-dev
  # OpenMP runtime the compiled CPU code runs its parallel loops on
  libomp-19-dev
  # tokenizers: pre-tokenizer regexes, NFC, SentencePiece
  pkg-config libpcre2-dev libutf8proc-dev libsentencepiece-dev
  # collectives between CPU ranks; ranks are started by mpirun
  libopenmpi-dev openmpi-bin
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "bootstrap: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
