#!/bin/sh
# Run a command inside a cgroup (v1 or v2 folder): `benches/in-cgroup.sh CGROUP_DIR CMD ARGS...`.
cg=$1
shift
echo $$ > "$cg/cgroup.procs" || exit 1
exec "$@"
