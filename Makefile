# The two commands of the README:
#   make demo   set up everything, then run callsift on the bundled samples
#   make test   set up everything, then run the whole test suite (what CI runs)

.PHONY: setup demo test lint samples

setup:
	./scripts/setup.sh

demo: setup
	./target/release/callsift run --manifest samples/manifest.csv --out out/demo

lint:
	cargo fmt --check
	cargo clippy --release --all-targets --locked -- -D warnings

# unit tests, decode tests and the model-backed end-to-end tests (marked #[ignore] for a bare
# `cargo test`, included here)
test: setup lint
	cargo test --release --locked -- --include-ignored

# regenerate the sample calls (needs festival + sox + ffmpeg, installed by setup)
samples:
	python3 samples/generate.py
