#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost for the tests (Debian slurm-wlm + munge, as
# installed by scripts/setup.sh). Needs root (slurmd runs jobs as their user).
#   slurm_local.sh start DIR   write DIR/slurm.conf, start munged, slurmctld and slurmd, wait
#                              until the node is idle; prints `export SLURM_CONF=DIR/slurm.conf`
#   slurm_local.sh stop DIR    stop the daemons started from DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=$(realpath -m "${2:?state folder}")

stop() {
  for d in slurmd slurmctld; do
    [ -f "$dir/$d.pid" ] && kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
  done
  [ -f "$dir/munged.pid" ] && kill "$(cat "$dir/munged.pid")" 2>/dev/null || true
  return 0
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "slurm_local.sh: needs root (slurmd)" >&2; exit 2; }
for b in munged slurmctld slurmd sbatch sinfo; do
  command -v "$b" >/dev/null || { echo "slurm_local.sh: $b missing; hint: run scripts/setup.sh (apt slurm-wlm munge)" >&2; exit 2; }
done
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chown munge:munge "$dir/munge"
# munge: its own socket, key and pid under DIR, so nothing system-wide is touched
key=/etc/munge/munge.key
[ -s "$key" ] || { mungekey --create --keyfile "$key" 2>/dev/null || dd if=/dev/urandom of="$key" bs=1 count=128 status=none; chown munge:munge "$key"; chmod 400 "$key"; }
sock="$dir/munge/munge.socket.2"
runuser -u munge -- munged --socket="$sock" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
cp "$dir/munge/munged.pid" "$dir/munged.pid"
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=callsift-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  case "$state" in idle*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 1
done
echo "slurm_local.sh: the node did not become idle (state: ${state:-none}); logs in $dir" >&2
tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
