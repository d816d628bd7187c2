# The two commands of the README:
#   make demo   set up everything, then run callsift on the bundled samples
#   make test   set up everything, then run the whole test suite (what CI runs)
# and the quick loop while working, which installs nothing and needs only the Rust toolchain:
#   make check  fmt, clippy and a bare `cargo test` (tests needing another tool are ignored)

.PHONY: setup demo test lint check samples

setup:
	./scripts/setup.sh

demo: setup
	./target/release/callsift run --manifest samples/manifest.csv --out out/demo

lint:
	cargo fmt --check
	cargo clippy --release --all-targets --locked -- -D warnings

# unit tests, decode tests and the model-backed end-to-end tests, and those needing sox,
# ffmpeg, chromium, python3, Slurm or root (marked #[ignore] for a bare `cargo test`,
# included here)
test: setup lint
	cargo test --release --locked -- --include-ignored

# the debug profile, as a bare `cargo test` builds it; the tests marked #[ignore] (see `test`)
# are listed as ignored
check:
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings
	cargo test --locked

# regenerate the sample calls (needs festival + sox + ffmpeg, installed by setup)
samples:
	python3 samples/generate.py
