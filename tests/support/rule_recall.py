#!/usr/bin/env python3
"""Precision and recall of the rule categories callsift wrote (the interactions table, beh_/evt_/
topic_ columns) against the human labels in SAMPLES/expected_categories.csv.

usage: rule_recall.py OUT_DIR SAMPLES_DIR [--json]
"""
import csv
import json
import sys

import duckdb


def main():
    out, samples = sys.argv[1], sys.argv[2]
    labels = {r["call_id"]: set(r["categories"].split()) for r in csv.DictReader(open(f"{samples}/expected_categories.csv"))}
    con = duckdb.connect()
    cols = [r[0] for r in con.execute(f"describe select * from read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true)").fetchall()
            if r[0].startswith(("beh_", "evt_", "topic_"))]
    tp = fp = fn = 0
    calls = []
    for call, want in labels.items():
        row = con.execute(f"select {', '.join(cols)} from read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true) where interaction_id = ?", [call]).fetchone()
        if row is None:
            continue
        got = {c.split("_", 1)[1] for c, v in zip(cols, row) if v}
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        calls.append({"call_id": call, "missed": sorted(want - got), "false_positives": sorted(got - want)})
    result = {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "calls": calls}
    if "--json" in sys.argv:
        print(json.dumps(result))
    else:
        for c in calls:
            print(f"{c['call_id']}: missed {c['missed']}, false positives {c['false_positives']}")
        print(f"precision {result['precision']:.2f}, recall {result['recall']:.2f}")


if __name__ == "__main__":
    main()
