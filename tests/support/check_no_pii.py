#!/usr/bin/env python3
"""Fail if any text in callsift's output still holds the payment details spoken in
samples/call_007 (card 4539 1488 0343 6467, expiry 09/28, CVV 123) or any long digit run.

usage: check_no_pii.py OUT_DIR INTERACTION_ID
Reads every text column (transcript, error, segment text, event evidence) with DuckDB,
normalises spelled-out digits ("four five three nine", "oh") to numerals, and searches.
"""
import re
import sys

import duckdb

WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
         "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def digits_only(text):
    words = re.findall(r"[a-z]+|\d+", text.lower())
    return "".join(WORDS.get(w, w if w.isdigit() else " ") for w in words)


def main():
    out, call = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    texts = []
    # every column that can hold what was said
    for table, cols in (("interactions", "transcript, error"), ("segments", "text"),
                        ("events", "evidence")):
        for row in con.execute(f"select {cols} from read_parquet('{out}/{table}/*/*.parquet', hive_partitioning = true)").fetchall():
            texts += [v for v in row if v]
    for needle in ("4539", "1488", "0343", "6467", "0928", "123"):
        for t in texts:
            for run in digits_only(t).split():
                if needle in run:
                    print(f"FAIL: payment digits {needle} survive in: {t[:200]!r}")
                    sys.exit(1)
    for t in texts:
        if any(len(run) >= 13 for run in digits_only(t).split()):
            print(f"FAIL: a run of 13+ digits survives in: {t[:200]!r}")
            sys.exit(1)
    row = con.execute(
        f"select transcript, pii_redactions from read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true) where interaction_id = ?", [call]
    ).fetchone()
    transcript, n = row
    if "[CARD_NUMBER]" not in transcript or n < 2:
        print(f"FAIL: expected card, expiry and CVV redacted in {call}: {n} redactions\n{transcript}")
        sys.exit(1)
    print(f"ok: no card digits anywhere; {n} redactions in {call}")


if __name__ == "__main__":
    main()
