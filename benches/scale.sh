#!/usr/bin/env bash
# Peak memory against input count: `callsift run` over N short calls (hard links of one 6 s
# mono 8 kHz A-law clip cut from samples/call_004.wav: one whisper window each; every link is
# a distinct input with its own id), for each N given (default: 10 100 1000). Prints a table:
# N, wall, CPU, peak RSS; then a rerun over the largest set (nothing new: the incremental
# path). Needs sox and /usr/bin/time. CALLSIFT_BIN picks another build.
#   benches/scale.sh [N ...]
set -euo pipefail
source "$(dirname "$0")/common.sh"
sox samples/call_004.wav "$work/clip.wav" trim 1.5 6
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10 100 1000)
printf "| inputs | wall | CPU (user+sys) | peak RSS | per input |\n|---|---|---|---|---|\n"
for n in "${sizes[@]}"; do
  dir="$work/in-$n"; mkdir -p "$dir"
  for i in $(seq -w 1 "$n"); do ln "$work/clip.wav" "$dir/c$i.wav"; done
  out="$work/out-$n"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" run --quiet --out "$out" "$dir" || true
  read -r wall user sys rss < "$work/time"
  printf "| %s | %.1f s | %.1f s | %d MiB | %.2f s |\n" "$n" "$wall" "$(echo "$user + $sys" | bc)" \
    $((rss / 1024)) "$(echo "$wall / $n" | bc -l)"
  last=$n
done
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" run --quiet --out "$work/out-$last" "$work/in-$last"
read -r wall user sys rss < "$work/time"
printf "| %s again (all unchanged) | %.1f s | %.1f s | %d MiB | |\n" "$last" "$wall" \
  "$(echo "$user + $sys" | bc)" $((rss / 1024))
