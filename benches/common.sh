# Sourced by the benchmark scripts: work from the checkout, pick the build ($bin: CALLSIFT_BIN,
# else target/release/callsift, built when missing) and make a work folder ($work) that is
# removed on exit (a script that has more to clean sets its own EXIT trap after sourcing).
cd "$(dirname "${BASH_SOURCE[1]}")/.."
bin=${CALLSIFT_BIN:-target/release/callsift}
[ -x "$bin" ] || cargo build --release --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
