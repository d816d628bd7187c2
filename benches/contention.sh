#!/usr/bin/env bash
# Wall time of `callsift run` on one call under CPU contention, for several thread settings.
# Conditions: idle; a CPU-bound busy loop in another login session (`setsid`, so the
# scheduler's per-session groups give it its own share, as another user's job would have);
# another callsift on the same call in another session; a CPU quota of one core (a cgroup v1
# `cpu.cfs_quota_us` or v2 `cpu.max` group, when this user may create one). Each variant is
# `label|environment assignments|callsift options`. Prints one table row per variant and condition, with the 1-minute load average before it.
#   benches/contention.sh [CALL] [VARIANT ...]
#   VARIANT: 'label|ENV=V ...|--threads 1'   (default: the built-in set below)
# Needs: /usr/bin/time, setsid; root (or a delegated cgroup) for the quota condition.
set -euo pipefail
source "$(dirname "$0")/common.sh"
call=${1:-samples/call_001.wav}
shift || true
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(
  "default||"
  "OMP_WAIT_POLICY=passive|OMP_WAIT_POLICY=passive|"
  "--threads 1||--threads 1"
)
busy_pid=""
cg=""
cleanup() {
  [ -z "$busy_pid" ] || kill -- "-$busy_pid" 2>/dev/null || true
  [ -z "$cg" ] || rmdir "$cg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# a cgroup limited to one CPU: v2 cpu.max where the cpu controller is on the v2 tree, else v1
make_quota_group() {
  local root=/sys/fs/cgroup name="callsift-bench-$$"
  if [ -f "$root/cgroup.controllers" ] && grep -qw cpu "$root/cgroup.subtree_control" 2>/dev/null; then
    mkdir "$root/$name" && echo "100000 100000" > "$root/$name/cpu.max" && cg="$root/$name" \
      && quota_kind="cgroup v2 cpu.max 100000 100000" && return 0
  fi
  if [ -d "$root/cpu" ] && mkdir "$root/cpu/$name" 2>/dev/null; then
    cg="$root/cpu/$name"
    echo 100000 > "$cg/cpu.cfs_period_us" && echo 100000 > "$cg/cpu.cfs_quota_us" \
      && quota_kind="cgroup v1 cpu.cfs_quota_us 100000/100000" && return 0
  fi
  return 1
}

load() { cut -d' ' -f1 /proc/loadavg; }

# run one variant; $1 = env assignments, $2 = callsift options, $3 = wrapper (optional)
one() {
  local envs=$1 opts=$2 wrap=${3:-} out="$work/out-$RANDOM$RANDOM"
  # shellcheck disable=SC2086
  $wrap env $envs /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin" run --quiet --out "$out" $opts "$call" >/dev/null
  rm -rf "$out"
  read -r wall user sys rss < "$work/time"
  printf "%s s | %.1f s | %d MiB" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024))
}

start_busy() {
  setsid sh -c 'while :; do :; done' &
  busy_pid=$!
  sleep 1
}
stop_busy() { kill -- "-$busy_pid" 2>/dev/null || kill "$busy_pid"; wait "$busy_pid" 2>/dev/null || true; busy_pid=""; }

start_peer_callsift() {
  setsid sh -c "while :; do '$bin' run --quiet --force --out '$work/peer' '$call' >/dev/null 2>&1; done" &
  busy_pid=$!
  sleep 2
}

printf "| variant | condition | load before | wall | CPU | peak RSS |\n|---|---|---|---|---|---|\n"
quota_kind=""
make_quota_group || true
for v in "${variants[@]}"; do
  IFS='|' read -r label envs opts <<< "$v"
  printf "| %s | nothing added | %s | %s |\n" "$label" "$(load)" "$(one "$envs" "$opts")"
  start_busy
  printf "| %s | busy loop in another session | %s | %s |\n" "$label" "$(load)" "$(one "$envs" "$opts")"
  stop_busy
  start_peer_callsift
  printf "| %s | another callsift in another session | %s | %s |\n" "$label" "$(load)" "$(one "$envs" "$opts")"
  stop_busy
  if [ -n "$cg" ]; then
    printf "| %s | %s | %s | %s |\n" "$label" "$quota_kind" "$(load)" \
      "$(one "$envs" "$opts" "$PWD/benches/in-cgroup.sh $cg")"
  fi
done
