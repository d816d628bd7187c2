#!/usr/bin/env python3
"""Word error rate of callsift's segments against the samples' timelines.

usage: wer.py OUT_DIR SAMPLES_DIR   (prints one line per call and the total; JSON with --json)
Normalisation: lower case, digits spelled out as words, punctuation dropped, contractions split.
Stereo calls are scored per role; mono calls on the time-ordered whole.
"""
import csv
import json
import os
import re
import sys

import duckdb

ONES = "zero one two three four five six seven eight nine".split()


def norm(text):
    t = text.lower().replace("-", " ")
    t = re.sub(r"(\d)", lambda m: " " + ONES[int(m.group(1))] + " ", t)
    t = t.replace("'", "")
    t = re.sub(r"[^a-z ]+", " ", t)
    return t.split()


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def main():
    out, samples = sys.argv[1], sys.argv[2]
    manifest = list(csv.DictReader(open(f"{samples}/manifest.csv")))
    con = duckdb.connect()
    rows, total_err, total_ref = [], 0, 0
    for m in manifest:
        call = m["path"].rsplit(".", 1)[0]
        if not os.path.exists(f"{samples}/{call}.timeline.csv"):
            continue  # not a bundled sample (e.g. a deliberately broken file)
        timeline = list(csv.DictReader(open(f"{samples}/{call}.timeline.csv")))
        segs = con.execute(
            f"select role, text from read_parquet('{out}/segments/*/*.parquet', hive_partitioning = true) where interaction_id = ? order by start_ms",
            [m["call_id"]],
        ).fetchall()
        if any("[" in t for _, t in segs):
            continue  # holds PII placeholders: scored by check_no_pii.py, not by WER
        roles = {r for r, _ in segs}
        if roles <= {"unknown"}:
            pairs = [(" ".join(t["text"] for t in timeline), " ".join(t for _, t in segs))]
        else:
            pairs = [
                (" ".join(t["text"] for t in timeline if t["role"] == role),
                 " ".join(t for r, t in segs if r == role))
                for role in ("agent", "customer")
            ]
        err = sum(edit_distance(norm(r), norm(h)) for r, h in pairs)
        ref = sum(len(norm(r)) for r, _ in pairs)
        total_err += err
        total_ref += ref
        rows.append({"call_id": m["call_id"], "wer": err / max(ref, 1), "ref_words": ref})
    result = {"calls": rows, "wer": total_err / max(total_ref, 1)}
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        for r in rows:
            print(f"{r['call_id']}: WER {r['wer']:.1%} ({r['ref_words']} words)")
        print(f"total: WER {result['wer']:.1%}")


if __name__ == "__main__":
    main()
