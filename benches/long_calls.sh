#!/usr/bin/env bash
# Cost per minute and peak memory against call length: one stereo 8 kHz µ-law call of each
# length given in minutes (default: 1 15 60 120), made by concatenating the stereo sample
# calls (each re-encoded to the same format) over and over and trimming to the length, run
# alone through `callsift run` with the default plan. Prints a table: length, wall, CPU,
# wall and CPU per audio minute, peak RSS, with the 1-minute load average before each run.
# Needs sox, ffmpeg and /usr/bin/time. CALLSIFT_BIN picks another build.
#   benches/long_calls.sh [MINUTES ...]
set -euo pipefail
source "$(dirname "$0")/common.sh"
lengths=("$@"); [ ${#lengths[@]} -gt 0 ] || lengths=(1 15 60 120)
parts=()
for c in call_001.wav call_002.mp3 call_003.flac call_005.ogg call_006.m4a call_008.wav; do
  ffmpeg -v error -i "samples/$c" -ar 8000 -ac 2 -c:a pcm_s16le "$work/${c%.*}.wav"
  parts+=("$work/${c%.*}.wav")
done
# one round of the six calls (about 4.4 min); repeat it to cover the longest length
round="$work/round.wav"
sox "${parts[@]}" "$round"
round_s=$(soxi -D "$round")
printf "| call | load before | wall | CPU (user+sys) | wall per audio-min | CPU per audio-min | peak RSS |\n"
printf "|---|---|---|---|---|---|---|\n"
for m in "${lengths[@]}"; do
  reps=$(python3 -c "import math; print(math.ceil($m * 60 / $round_s))")
  list=()
  for _ in $(seq "$reps"); do list+=("$round"); done
  call="$work/long-$m.wav"
  sox "${list[@]}" -e u-law -b 8 "$call" trim 0 "$((m * 60))"
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" run --quiet --out "$work/out-$m" "$call"
  read -r wall user sys rss < "$work/time"
  cpu=$(echo "$user + $sys" | bc)
  printf "| %s min | %s | %.1f s | %.1f s | %.2f s | %.2f s | %d MiB |\n" "$m" "$load" "$wall" "$cpu" \
    "$(echo "$wall / $m" | bc -l)" "$(echo "$cpu / $m" | bc -l)" $((rss / 1024))
  rm -rf "$work/out-$m" "$call"
done
