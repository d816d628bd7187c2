#!/usr/bin/env python3
"""Turn detection evaluation sets into spoken calls and back into evaluation sets of callsift's
own transcripts, so that `callsift rules eval` scores the rules on recogniser output.

Each `[[item]]` of a set (`target`, `expect`, `also`, `text` of `role: text` lines) becomes one
stereo call, written as DIR/audio/<set-stem>-<NNN>.wav (1-based item number in its set): agent
lines on the left channel (callsift's default `--agent-channel left`), customer lines on the
right, in order, 0.6 s apart, with the lead-in, tail and line noise of samples/generate.py,
band-limited to the telephone band and stored as 8 kHz G.711 mu-law (like samples/call_007.wav).
The two Festival voices of samples/generate.py (kal_diphone, cmu_us_slt_arctic_hts) swap roles
from item to item (odd items: agent kal, customer slt; even items the other way round), so both
voices play both parties. Every random choice is seeded by the call id and sox runs in
repeatable mode (-R, no random dither), so the same inputs give the same audio, byte for byte.

Then `callsift run --manifest DIR/manifest.csv --out DIR/dataset` transcribes all calls at once
(the call id is the interaction id), the script reads DIR/dataset/segments and writes, per input
set, DIR/<set-stem>.transcribed.toml: the same items in the same order with the same labels, the
text replaced by one `role: text` line per transcribed segment in time order. An item whose call
failed or produced no text gets the single line `agent: ` and is counted in the summary.

It prints the word error rate of the transcripts against the reference texts (lower case, no
punctuation, word-level Levenshtein; jiwer is not needed), how many reference lines the
recogniser seems to have dropped (a line less than a quarter of whose words appear anywhere in
that party's transcript of the call), and the time of each stage. Per-call details (WER, dropped
lines, errors) go to DIR/report.json; the console names calls by id only.

Reruns are cheap: a call whose audio is already there for the same text, voices and settings is
not synthesised again (DIR/audio/index.json), and callsift skips calls its dataset already holds
with the same audio and settings.

Needs festival (with festvox-kallpc16k and festvox-us-slt-hts), sox, python3 with pyarrow, and
the callsift binary with its default model (models/ggml-tiny.en.bin: `make setup`).

Usage:
  python3 benches/detection_audio.py --set benches/detection/behaviours.dev.toml [--set ...]
      --out DIR [--binary target/release/callsift] [--limit N] [--jobs J] [--model NAME]
      [--run-arg=--full-context ...] [--resynth]
then:
  ./target/release/callsift rules eval DIR/*.transcribed.toml

If callsift dies part-way, the committed calls are kept: run the same command again and it
transcribes the rest. Against a binary that is being rebuilt, pass a copy
(--binary /tmp/callsift-copy).
"""

import argparse
import concurrent.futures
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import unicodedata
import wave
from array import array

sys.dont_write_bytecode = True  # importing samples/generate.py leaves no __pycache__ behind
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "samples"))
import generate  # noqa: E402  (VOICES, RATE, GAP_S, LEAD_S, TAIL_S, NOISE_SIGMA, write_wav)

# Bump when the audio layout changes, so cached calls are synthesised again.
AUDIO_VERSION = 1
VOICE_A, VOICE_B = "A", "C"  # keys of generate.VOICES: kal_diphone, cmu_us_slt_arctic_hts
ROLE_LINE = re.compile(r"^\s*(agent|customer)\s*:(.*)$")
DROPPED_BELOW = 0.25  # share of a line's words found in that party's transcript


# ---------------------------------------------------------------- inputs

def read_set(path):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    items = data.get("item", [])
    for n, it in enumerate(items, 1):
        missing = {"target", "expect", "text"} - set(it)
        if missing:
            sys.exit(f"{path}: item {n} lacks {', '.join(sorted(missing))}")
    return items


def script_lines(text, where):
    """The `role: text` lines of an item, as (role, text); refuses any other role."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = ROLE_LINE.match(line)
        if not m:
            sys.exit(f"{where}: not an `agent:` or `customer:` line: {line[:60]!r}")
        out.append((m.group(1), m.group(2).strip()))
    return out


def set_stem(path):
    name = os.path.basename(path)
    return name[:-5] if name.endswith(".toml") else name


# ---------------------------------------------------------------- synthesis

def tts_text(text):
    """What Festival is given: ASCII only (it reads bytes as Latin-1 and says the stray bytes
    of UTF-8 as words), dashes as pauses, currency amounts spelled as it would read them."""
    t = re.sub(r"\s*[\u2014\u2013]\s*", ", ", text)
    t = re.sub(r"£(\d+)\.(\d\d)\b", r"\1 pounds \2", t)
    t = re.sub(r"£(\d+)", r"\1 pounds", t)
    t = re.sub(r"\$(\d+)\.(\d\d)\b", r"\1 dollars \2", t)
    t = re.sub(r"\$(\d+)", r"\1 dollars", t)
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace('"', "").replace("\u201c", "").replace("\u201d", "")
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", t).strip(" ,")


def synthesize(text, voice, tmp):
    """samples/generate.py's synthesize, with sox in repeatable mode (-R): without it sox adds
    random dither after `norm`, and the same line comes out different on every run."""
    txt = os.path.join(tmp, "u.txt")
    raw = os.path.join(tmp, "u_raw.wav")
    out = os.path.join(tmp, "u.wav")
    with open(txt, "w", encoding="ascii") as f:
        f.write(text + "\n")
    subprocess.run(["text2wave", "-eval", generate.VOICES[voice], txt, "-o", raw],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(
        ["sox", "-R", raw, "-r", str(generate.RATE), "-c", "1", "-b", "16", out,
         "sinc", "250-3400", "silence", "1", "0.02", "0.5%", "reverse",
         "silence", "1", "0.02", "0.5%", "reverse", "norm", "-3"],
        check=True, stderr=subprocess.PIPE,
    )
    with wave.open(out) as w:
        return array("h", w.readframes(w.getnframes()))


def voices_for(index):
    """(agent voice, customer voice) of the item with this 1-based number in its set."""
    return (VOICE_A, VOICE_B) if index % 2 == 1 else (VOICE_B, VOICE_A)


def audio_key(lines, voices):
    h = hashlib.sha256(json.dumps([AUDIO_VERSION, voices, lines, generate.RATE,
                                   generate.GAP_S, generate.LEAD_S, generate.TAIL_S,
                                   generate.NOISE_SIGMA]).encode())
    return h.hexdigest()


def synth_call(job):
    """Worker: synthesise one call into its WAV. Returns (id, seconds, None) or (id, None, error)."""
    import random
    cid, lines, voices, wav_path = job
    try:
        rate = generate.RATE
        with tempfile.TemporaryDirectory(prefix="detaudio-") as tmp:
            events, t = [], generate.LEAD_S
            for role, text in lines:
                spoken = tts_text(text)
                if not spoken:
                    continue
                voice = voices[0] if role == "agent" else voices[1]
                pcm = synthesize(spoken, voice, tmp)
                if not pcm:
                    continue
                events.append(("A" if role == "agent" else "C", t, pcm))
                t += len(pcm) / rate + generate.GAP_S
            if not events:
                return cid, None, "nothing to say"
            end = t - generate.GAP_S
            total = int((end + generate.TAIL_S) * rate)
            rng = random.Random(cid)
            chans = {r: [rng.gauss(0.0, generate.NOISE_SIGMA) for _ in range(total)]
                     for r in "AC"}
            for ch, start, pcm in events:
                off = int(round(start * rate))
                dst = chans[ch]
                for i, s in enumerate(pcm):
                    dst[off + i] += s
            master = os.path.join(tmp, "master.wav")
            generate.write_wav(master, chans, total, "stereo")
            part = wav_path + ".partial"
            subprocess.run(["sox", "-R", master, "-t", "wav", "-r", "8000", "-e", "u-law",
                            "-b", "8", part], check=True, stderr=subprocess.PIPE)
            os.replace(part, wav_path)
        return cid, total / rate, None
    except subprocess.CalledProcessError as e:
        err = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        return cid, None, f"{e.cmd[0]} failed: {err[-1] if err else e.returncode}"
    except Exception as e:  # noqa: BLE001  (one bad call must not stop the set)
        return cid, None, f"{type(e).__name__}: {e}"


def check_tools():
    missing = [t for t in ("festival", "text2wave", "sox") if shutil.which(t) is None]
    if missing:
        sys.exit(f"detection_audio: {', '.join(missing)} not found on PATH. The calls are "
                 "spoken with Festival and sox, as samples/generate.py: install festival, "
                 "festvox-kallpc16k, festvox-us-slt-hts and sox (`make setup` does).")
    with tempfile.TemporaryDirectory(prefix="detaudio-check-") as tmp:
        for key in (VOICE_A, VOICE_B):
            try:
                synthesize("Hello.", key, tmp)
            except subprocess.CalledProcessError as e:
                err = (e.stderr or b"").decode(errors="replace").strip()
                sys.exit(f"detection_audio: Festival cannot speak with {generate.VOICES[key]} "
                         f"({err.splitlines()[-1] if err else 'no message'}); install "
                         "festvox-kallpc16k and festvox-us-slt-hts.")


# ---------------------------------------------------------------- transcripts

def read_dataset(dataset, ids):
    """{id: (status, error, [(start_ms, channel, role, text)])} for the given call ids."""
    try:
        import pyarrow.dataset as ds
    except ImportError:
        sys.exit("detection_audio: needs pyarrow to read the dataset (pip install pyarrow).")
    out = {cid: ("missing", "no row in interactions", []) for cid in ids}
    want = list(ids)
    inter = ds.dataset(os.path.join(dataset, "interactions"), format="parquet",
                       partitioning="hive")
    t = inter.to_table(columns=["interaction_id", "status", "error"],
                       filter=ds.field("interaction_id").isin(want))
    for cid, status, error in zip(*(t.column(c).to_pylist() for c in
                                    ("interaction_id", "status", "error"))):
        out[cid] = (status, error, [])
    seg_dir = os.path.join(dataset, "segments")
    if os.path.isdir(seg_dir):
        segs = ds.dataset(seg_dir, format="parquet", partitioning="hive")
        t = segs.to_table(columns=["interaction_id", "start_ms", "channel", "role", "text"],
                          filter=ds.field("interaction_id").isin(want))
        cols = [t.column(c).to_pylist() for c in
                ("interaction_id", "start_ms", "channel", "role", "text")]
        for cid, start, channel, role, text in zip(*cols):
            if cid in out:
                out[cid][2].append((start, channel, role, text))
    for v in out.values():
        v[2].sort()
    return out


def transcript_lines(segments):
    lines = []
    for _start, _channel, role, text in segments:
        text = " ".join(text.split())
        if text:
            lines.append((role if role in ("agent", "customer") else "agent", text))
    return lines


def norm_words(text):
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[\u2014\u2013\-_/]", " ", t)
    t = re.sub(r"[^\w\s]", "", t)
    return t.split()


def edit_ops(ref, hyp):
    """Word-level Levenshtein alignment: (substitutions, deletions, insertions)."""
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]  # (cost, S, D, I)
    for i, r in enumerate(ref, 1):
        cur = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            c, s_, d, n = prev[j - 1]
            best = (c, s_, d, n) if r == h else (c + 1, s_ + 1, d, n)
            c, s_, d, n = prev[j]
            if c + 1 < best[0]:
                best = (c + 1, s_, d + 1, n)
            c, s_, d, n = cur[j - 1]
            if c + 1 < best[0]:
                best = (c + 1, s_, d, n + 1)
            cur.append(best)
        prev = cur
    return prev[-1][1:]


def dropped_lines(ref_lines, hyp_lines):
    """Reference lines less than DROPPED_BELOW of whose words appear in that party's transcript."""
    out = []
    for role, text in ref_lines:
        words = norm_words(text)
        if not words:
            continue
        pool = {}
        for r, t in hyp_lines:
            if r == role:
                for w in norm_words(t):
                    pool[w] = pool.get(w, 0) + 1
        found = 0
        for w in words:
            if pool.get(w, 0) > 0:
                pool[w] -= 1
                found += 1
        if found / len(words) < DROPPED_BELOW:
            out.append((role, text))
    return out


def toml_str(s):
    return json.dumps(s, ensure_ascii=True)  # a JSON string is a TOML basic string


def toml_ml(s):
    """A TOML multi-line basic string holding s."""
    body = s.replace("\\", "\\\\").replace('"', '\\"')
    body = "".join(c if c == "\n" or (ord(c) >= 0x20 and ord(c) != 0x7f) else f"\\u{ord(c):04x}"
                   for c in body)
    return '"""\n' + body + '"""'


def write_set(path, source, items, texts, header):
    with open(path + ".partial", "w", encoding="utf-8") as f:
        f.write(f"# callsift transcripts of the calls spoken from {source}\n")
        for h in header:
            f.write(f"# {h}\n")
        for it, text in zip(items, texts):
            f.write("\n[[item]]\n")
            f.write(f"target = {toml_str(it['target'])}\n")
            f.write(f"expect = {'true' if it['expect'] else 'false'}\n")
            f.write(f"also = [{', '.join(toml_str(a) for a in it.get('also', []))}]\n")
            f.write(f"text = {toml_ml(text)}\n")
    # the written set must read back as the same labels
    with open(path + ".partial", "rb") as f:
        back = tomllib.load(f)["item"]
    assert len(back) == len(items)
    for a, b, t in zip(items, back, texts):
        assert (a["target"], a["expect"], list(a.get("also", []))) == \
            (b["target"], b["expect"], b["also"]) and b["text"] == t, a["target"]
    os.replace(path + ".partial", path)


# ---------------------------------------------------------------- main

def id_list(ids, n=8):
    if not ids:
        return ""
    return "(" + ", ".join(ids[:n]) + (f", ... {len(ids) - n} more" if len(ids) > n else "") + ")"


def fmt_s(s):
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Details: see the docstring of benches/detection_audio.py.")
    ap.add_argument("--set", dest="sets", action="append", required=True, metavar="TOML",
                    help="evaluation set to speak (repeatable)")
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "callsift"))
    ap.add_argument("--limit", type=int, metavar="N", help="only the first N items of each set")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                    metavar="J", help="calls synthesised in parallel (default: CPUs / 2)")
    ap.add_argument("--model", help="callsift --model (default: callsift's, tiny.en)")
    ap.add_argument("--run-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for `callsift run` (repeatable), e.g. "
                         "--run-arg=--full-context; use a fresh --out for other settings")
    ap.add_argument("--resynth", action="store_true",
                    help="synthesise every call again even if its audio is up to date")
    a = ap.parse_args()

    check_tools()
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"detection_audio: no callsift binary at {binary} (cargo build --release, "
                 "or --binary PATH)")
    out = os.path.abspath(a.out)
    audio_dir = os.path.join(out, "audio")
    os.makedirs(audio_dir, exist_ok=True)

    # ids and scripts
    sets = []  # (path, stem, items, [ids])
    calls = {}  # id -> {"set", "index", "item", "lines", "voices"}
    for path in a.sets:
        stem = set_stem(path)
        if any(s[1] == stem for s in sets):
            sys.exit(f"detection_audio: two sets named {stem}: the call ids would collide")
        items = read_set(path)
        if a.limit is not None:
            items = items[:a.limit]
        width = max(3, len(str(len(items))))
        ids = []
        for n, it in enumerate(items, 1):
            cid = f"{stem}-{n:0{width}d}"
            lines = script_lines(it["text"], f"{path} item {n}")
            calls[cid] = {"set": path, "index": n, "target": it["target"], "lines": lines,
                          "voices": voices_for(n)}
            ids.append(cid)
        sets.append((path, stem, items, ids))
    if not calls:
        sys.exit("detection_audio: no items")

    # stage 1: synthesis
    t0 = time.monotonic()
    index_path = os.path.join(audio_dir, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except (OSError, ValueError):
        index = {}
    jobs, cached = [], 0
    for cid, c in calls.items():
        wav = os.path.join(audio_dir, cid + ".wav")
        key = audio_key(c["lines"], c["voices"])
        c["key"], c["wav"] = key, wav
        if not a.resynth and index.get(cid, {}).get("key") == key and os.path.exists(wav):
            c["seconds"] = index[cid]["seconds"]
            cached += 1
            continue
        index.pop(cid, None)
        jobs.append((cid, c["lines"], c["voices"], wav))
    print(f"synthesis: {len(calls)} calls, {cached} up to date, {len(jobs)} to speak "
          f"with {a.jobs} job(s)", flush=True)
    synth_failed = {}
    done = 0
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for cid, seconds, err in pool.map(synth_call, jobs):
            done += 1
            if err:
                synth_failed[cid] = err
                print(f"  {cid}: synthesis failed: {err}", flush=True)
            else:
                calls[cid]["seconds"] = seconds
                index[cid] = {"key": calls[cid]["key"], "seconds": seconds}
            if done % 25 == 0 or done == len(jobs):
                print(f"  {done}/{len(jobs)} spoken, {fmt_s(time.monotonic() - t0)}", flush=True)
                with open(index_path + ".partial", "w") as f:
                    json.dump(index, f, indent=0, sort_keys=True)
                os.replace(index_path + ".partial", index_path)
    t_synth = time.monotonic() - t0
    audio_s = sum(c.get("seconds", 0.0) for c in calls.values())

    # stage 2: callsift run, one run over every call, through a manifest so call id = item id
    manifest = os.path.join(out, "manifest.csv")
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["call_id", "path"])
        for cid, c in calls.items():
            if cid not in synth_failed:
                w.writerow([cid, os.path.relpath(c["wav"], out)])
    dataset = os.path.join(out, "dataset")
    cmd = [binary, "run", "--manifest", manifest, "--out", dataset, "--agent-channel", "left"]
    if a.model:
        cmd += ["--model", a.model]
    cmd += a.run_arg
    print("$ " + " ".join(cmd), flush=True)
    t1 = time.monotonic()
    log_path = os.path.join(out, "callsift-run.log")
    with open(log_path, "w") as log:
        # LIBC_FATAL_STDERR_: glibc's own abort messages (heap corruption) go to the log, not
        # to /dev/tty, so a crash leaves its reason behind
        env = dict(os.environ, LIBC_FATAL_STDERR_="1")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        for line in proc.stdout:
            log.write(line)
            sys.stdout.write("  " + line)
            sys.stdout.flush()
        rc = proc.wait()
    t_run = time.monotonic() - t1
    if rc != 0:
        how = (f"was killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited with {rc}")
        print(f"callsift run {how} (log: {log_path}); reading what it committed. Run the "
              "script again to transcribe the rest (finished calls are skipped)", flush=True)
    if not os.path.isdir(os.path.join(dataset, "interactions")):
        sys.exit(f"detection_audio: callsift wrote no dataset at {dataset} (log: {log_path})")

    # stage 3: transcripts -> evaluation sets
    t2 = time.monotonic()
    rows = read_dataset(dataset, [cid for cid in calls if cid not in synth_failed])
    report = {"sets": [], "calls": {}}
    tot_err = tot_ref = 0
    tot_ops = {"s": 0, "d": 0, "i": 0}
    summary = []
    for path, stem, items, ids in sets:
        texts, s_err, s_ref = [], 0, 0
        s_ops = {"s": 0, "d": 0, "i": 0}
        n_failed, n_empty, n_long, n_dropped, n_lines = [], [], [], 0, 0
        for cid in ids:
            c = calls[cid]
            ref_words = [w for _, t in c["lines"] for w in norm_words(t)]
            if cid in synth_failed:
                status, error, segs = "synthesis_failed", synth_failed[cid], []
            else:
                status, error, segs = rows[cid]
            hyp = transcript_lines(segs) if status == "ok" else []
            if status != "ok":
                n_failed.append(cid)
            elif not hyp:
                n_empty.append(cid)
            text = "".join(f"{r}: {t}\n" for r, t in hyp) if hyp else "agent: \n"
            texts.append(text)
            hyp_words = [w for _, t in hyp for w in norm_words(t)]
            ops = edit_ops(ref_words, hyp_words)
            e = sum(ops)
            for k, v in zip("sdi", ops):
                s_ops[k] += v
            if len(hyp_words) > 1.5 * len(ref_words) + 5:
                n_long.append(cid)  # the recogniser ran on: repeated or invented text
            s_err += e
            s_ref += len(ref_words)
            dropped = dropped_lines(c["lines"], hyp)
            n_dropped += len(dropped)
            n_lines += len(c["lines"])
            report["calls"][cid] = {
                "set": path, "item": c["index"], "target": c["target"], "status": status,
                "error": error, "seconds": c.get("seconds"),
                "voices": {"agent": generate.VOICES[c["voices"][0]],
                           "customer": generate.VOICES[c["voices"][1]]},
                "ref_words": len(ref_words), "hyp_words": len(hyp_words), "word_errors": e,
                "sub_del_ins": ops,
                "wer": round(e / len(ref_words), 4) if ref_words else None,
                "reference": [f"{r}: {t}" for r, t in c["lines"]],
                "transcript": [f"{r}: {t}" for r, t in hyp],
                "dropped_lines": [f"{r}: {t}" for r, t in dropped],
            }
        wer = s_err / s_ref if s_ref else 0.0
        dest = os.path.join(out, stem + ".transcribed.toml")
        write_set(dest, path, items, texts, [
            f"callsift run of {os.path.relpath(binary, ROOT) if binary.startswith(ROOT) else binary}"
            f" (model {a.model or 'default'}{''.join(' ' + x for x in a.run_arg)}) over "
            "DIR/audio; one line per transcribed segment",
            f"{len(items)} items{f' (first {a.limit})' if a.limit is not None else ''}; "
            f"WER against the source texts {wer:.1%}; {len(n_failed)} calls failed, "
            f"{len(n_empty)} without text (`agent: `)",
        ])
        for k in "sdi":
            tot_ops[k] += s_ops[k]
        tot_err += s_err
        tot_ref += s_ref
        report["sets"].append({"set": path, "out": dest, "items": len(items), "wer": wer,
                               "failed": n_failed, "empty": n_empty, "inflated": n_long,
                               "lines": n_lines, "dropped_lines": n_dropped})
        reasons = {}
        for cid in n_failed:
            st = report["calls"][cid]["status"]
            reasons.setdefault({"missing": "not transcribed (no row: callsift died first?)",
                                "error": "callsift error"}.get(st, st), []).append(cid)
        summary.append(f"  {stem}: {len(items)} items -> {dest}\n"
                       f"    WER {wer:.1%} ({s_err}/{s_ref} words: {s_ops['s']} substituted, "
                       f"{s_ops['d']} deleted, {s_ops['i']} inserted; without insertions "
                       f"{(s_ops['s'] + s_ops['d']) / max(1, s_ref):.1%}); "
                       f"reference lines dropped {n_dropped}/{n_lines}\n"
                       f"    calls failed: {len(n_failed)}"
                       + "".join(f"; {why}: {id_list(v)}" for why, v in reasons.items())
                       + f"\n    calls without text: {len(n_empty)} {id_list(n_empty)}\n"
                       f"    calls with 1.5x the reference words or more (runaway text): "
                       f"{len(n_long)} {id_list(n_long)}")
    t_read = time.monotonic() - t2
    total_wer = tot_err / tot_ref if tot_ref else 0.0
    report["wer"] = total_wer
    report["sub_del_ins"] = [tot_ops[k] for k in "sdi"]
    report["seconds"] = {"synthesis": t_synth, "callsift_run": t_run, "transcripts": t_read,
                         "audio": audio_s}
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    print("\nsummary")
    print("\n".join(summary))
    worst = sorted((v["wer"] or 0.0, k) for k, v in report["calls"].items()
                   if v["status"] == "ok")[-5:]
    print(f"  WER over all items: {total_wer:.1%} ({tot_err}/{tot_ref} words: {tot_ops['s']} "
          f"substituted, {tot_ops['d']} deleted, {tot_ops['i']} inserted); without insertions "
          f"{(tot_ops['s'] + tot_ops['d']) / max(1, tot_ref):.1%}")
    print("  highest WER: " + ", ".join(f"{k} {w:.0%}" for w, k in reversed(worst)))
    print(f"  calls with synthesis failed: {len(synth_failed)}")
    print(f"  time: synthesis {fmt_s(t_synth)} ({len(jobs)} spoken, {cached} cached; "
          f"{audio_s / 60:.1f} min of audio), callsift run {fmt_s(t_run)}, "
          f"transcripts {fmt_s(t_read)}")
    print(f"  details: {os.path.join(out, 'report.json')}; score with:\n"
          f"    {a.binary} rules eval {os.path.join(a.out, '*.transcribed.toml')}")


if __name__ == "__main__":
    main()
