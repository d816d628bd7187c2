#!/usr/bin/env bash
# Fuzz every target for a bounded time:  fuzz/run.sh [SECONDS per target, default 60]
# Installs cargo-fuzz (crates.io) if missing; needs the nightly toolchain. Seeds each corpus
# from the project's own files (sample recordings cut to 16 KiB, rules, manifests, surveys).
# A crash is copied into fuzz/regressions/<target>/ — commit it: `cargo test --test
# fuzz_regressions` replays every file there on every CI run — and the script fails.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus=target/corpus
mkdir -p "$corpus"/{decode,rules,manifest,surveys}
i=0
for f in ../samples/*.wav ../samples/*.mp3 ../samples/*.flac ../samples/*.ogg ../samples/*.m4a; do
  # first byte: format hint index (wav mp3 flac ogg m4a bin), then the file's first 16 KiB
  case "$f" in *.wav) h=0;; *.mp3) h=1;; *.flac) h=2;; *.ogg) h=3;; *.m4a) h=4;; esac
  { printf "\\x0$h"; head -c 16384 "$f"; } > "$corpus/decode/seed-$i"; i=$((i+1))
done
cp ../rules/builtin.toml "$corpus/rules/builtin.toml"
cp ../samples/manifest.csv "$corpus/manifest/manifest.csv"
[ -f ../samples/surveys.csv ] && cp ../samples/surveys.csv "$corpus/surveys/surveys.csv"
status=0
for t in decode rules manifest surveys; do
  echo "fuzz: $t for ${secs}s"
  art="artifacts/$t/"   # where cargo fuzz puts crashes, timeouts and OOMs
  mkdir -p "$art"
  if ! cargo +nightly fuzz run "$t" "$corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 \
      -timeout=20 2>&1 | tail -n 4; then
    status=1
  fi
  for crash in "$art"*; do
    [ -e "$crash" ] || continue
    cp "$crash" "regressions/$t/"
    echo "fuzz: $t found $(basename "$crash"); copied to fuzz/regressions/$t/" >&2
    status=1
  done
done
exit $status
