#!/usr/bin/env python3
"""Search callsift's outputs for personal data that should have been redacted.

usage: check_no_pii.py OUT_DIR INTERACTION_ID
    The bundled payment call (samples/call_007: card 4539 1488 0343 6467, expiry 09/28,
    CVV 123): fails if any of its digits or any run of 13+ digits survive in the transcript,
    errors, segment texts or event evidence, or if the call shows no redactions.

usage: check_no_pii.py --truth TRUTH.json [--half dev|test] [--json REPORT] [--show] PATH...
    The spoken PII set (benches/pii_set.py): reads every file under each PATH — every
    Parquet file (all string values of every column, lists and structs included; rows with
    an interaction_id belong to that call, and so do rows of a run over a sample's clips,
    whose ids start with the call's id: `pii_002-641c9c77_01_refund-2e790aab`, so that the
    clips' audio, transcribed again with redaction off, is checked under the call it was cut
    from), CSV files (by their interaction_id column; not the millisecond columns), and
    every other text file (JSON run manifests, HTML pages; a file whose name holds a call id
    belongs to that call, others to every call) — and reports, per half, the fraction of
    sensitive digits that survive and the fraction of ordinary numbers wrongly redacted.
    Exits 1 if any sensitive digit or e-mail address survives.

Text is normalised before searching: number words ("four", "oh", "forty five", "double
seven") become digits, as do the homophones "to"/"too", "for"/"fore", "ate" and "won" next
to another digit; digits separated only by spaces, punctuation or a joining word ("4539,
1488", "1-1-3", "oh six slash twenty eight", "7 and 9 4 6") form one run. A sensitive item survives if any 4 of its digits in a row are in a run of its
call's text (3-digit items and expiry dates without their leading zero: the whole item, in a
run of at most 5 digits); an e-mail address survives if its host or a name in it is still
there (inside any word but the words of an e-mail question: "email", "mail", "address").
An ordinary number is wrongly redacted if a segment of its speaker overlapping it in
time holds a placeholder such as [CARD_NUMBER].
"""
import argparse
import csv
import html.parser
import json
import os
import re
import sys

UNITS = {"zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2",
         "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
         "nine": "9"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
         "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
         "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fourty": "4", "fifty": "5", "sixty": "6",
        "seventy": "7", "eighty": "8", "ninety": "9"}
# homophones that count as digits only next to another digit
SOUNDS = {"to": "2", "too": "2", "for": "4", "fore": "4", "ate": "8", "won": "1"}
REPEAT = {"double": 2, "triple": 3, "w": 2}  # "53-w2-9": double heard as the letter w
# words said between digit groups that do not end a number ("oh six slash twenty eight")
JOINERS = {"slash", "dash", "hyphen", "and", "then", "uh", "um", "er", "erm"}
HEX = re.compile(r"\b[0-9a-f]{16,}\b")
# ISO dates and times, callsift's part file names and run ids (`20261130T234441Z_8e09a5`),
# the names of review pages and clips (`review/pii_001-034427a3.html`: a hash of the id),
# the transcript's time marks (`[00:42.3]`, `[125:07.5]`) and a review page's moment spans
# (`00:19–00:20`): a run at 23:44 must not count as the digits "2344" of a card number, nor a
# mark beside an order number as part of it
STAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?\b"
                   r"|part-[\w.-]*?\.parquet|\d{8}t\d{6}z(_[0-9a-f]{6})?"
                   r"|\[\d{2,}:\d{2}(\.\d)?\]|\b\d{2,}:\d{2}\u2013\d{2,}:\d{2}\b"
                   r"|[\w./-]*\.(html|wav)\b")
PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")


def tokens(text):
    """Lower-case words and digit strings; hashes and timestamps dropped."""
    text = STAMP.sub(" ", HEX.sub(" ", text.lower()))
    return re.findall(r"[a-z]+|\d+", text)


def digit_of(tok):
    if tok.isdigit():
        return tok
    return UNITS.get(tok) or TEENS.get(tok)


def digit_runs(text):
    """Every run of digits the text holds once number words are read as digits."""
    toks = tokens(text)
    vals = [None] * len(toks)
    for i, t in enumerate(toks):
        vals[i] = digit_of(t)
        if t in TENS:
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            vals[i] = TENS[t] if nxt in UNITS and UNITS[nxt] != "0" else TENS[t] + "0"
    for i, t in enumerate(toks):
        if t in SOUNDS and ((i > 0 and vals[i - 1]) or (i + 1 < len(toks) and vals[i + 1])):
            vals[i] = SOUNDS[t]
    for i, t in enumerate(toks):
        if t in REPEAT and i + 1 < len(toks) and vals[i + 1] and len(vals[i + 1]) == 1:
            vals[i] = vals[i + 1] * (REPEAT[t] - 1)
    runs, cur = [], ""
    for i, v in enumerate(vals):
        if v:
            cur += v
        elif toks[i] in JOINERS and cur and i + 1 < len(vals) and vals[i + 1]:
            continue
        elif cur:
            runs.append(cur)
            cur = ""
    if cur:
        runs.append(cur)
    return runs


def digits_only(text):
    """The text's digit runs joined by spaces (for the single-call check)."""
    return " ".join(digit_runs(text))


# ---------------------------------------------------------------- reading outputs

def flatten(v, out):
    if v is None:
        return
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            flatten(x, out)
    elif isinstance(v, (list, tuple)):
        for x in v:
            flatten(x, out)


def read_parquet(path, add):
    import pyarrow.parquet as pq
    for row in pq.read_table(path).to_pylist():
        call = row.get("interaction_id")
        texts = []
        for k, v in row.items():
            if k not in ("interaction_id", "path", "source_path"):
                flatten(v, texts)
        add(call, texts, row, path)


def read_csv(path, add):
    with open(path, newline="", errors="replace") as f:
        for row in csv.DictReader(f):
            call = row.get("interaction_id") or row.get("call_id")
            # times in milliseconds (`start_ms`, `clip_muted_ms`) are callsift's own numbers, as
            # the Parquet tables' integer columns are: a moment at 6990 ms is not the "69 90" of
            # an account number
            add(call, [v for k, v in row.items()
                       if v and k not in ("interaction_id", "path") and not (k or "").endswith("_ms")],
                None, path)


class VisibleText(html.parser.HTMLParser):
    """What a page shows or carries: its text and attribute values, without the stylesheet,
    scripts and layout attributes (whose numbers, `2rem`, `#d0d0d0`, are not what was said)."""

    LAYOUT = {"style", "class", "width", "height", "x", "y", "viewbox", "d", "points",
              "transform", "fill", "stroke", "stroke-width", "x1", "x2", "y1", "y2", "r",
              "cx", "cy", "rx", "font-size", "text-anchor", "charset", "lang", "name",
              "content", "rel"}

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script")
        self.parts += [v for k, v in attrs if v and k not in self.LAYOUT]

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def read_text(path, add, ids):
    with open(path, errors="replace") as f:
        text = f.read()
    if path.endswith((".html", ".htm", ".svg")):
        page = VisibleText()
        page.feed(text)
        text = "\n".join(page.parts)
    name = os.path.basename(path)
    owner = next((c for c in ids if c in name), None)
    add(owner, [text], None, path)


def scan(paths, ids):
    """(per call: list of (text, file)), (texts of no call), segments rows."""
    per_call = {c: [] for c in ids}
    shared, segments, files = [], [], 0

    def add(call, texts, row, path):
        if call not in per_call and isinstance(call, str):
            # a clip of the call: its id starts with the call's
            call = next((c for c in ids if call.startswith(c + "-")), call)
        for t in texts:
            for c in ids:  # a call's own id and file name are not what was said
                t = t.replace(c, " ")
            if call in per_call:
                per_call[call].append((t, path))
            else:
                shared.append((t, path))
        if row is not None and "text" in row and "start_ms" in row and "channel" in row:
            segments.append(row)

    for root in paths:
        walk = [(root, [], [os.path.basename(root)])] if os.path.isfile(root) else os.walk(root)
        for d, _, names in walk:
            for n in names:
                p = root if os.path.isfile(root) else os.path.join(d, n)
                if n.endswith(".parquet"):
                    read_parquet(p, add)
                elif n.endswith(".csv"):
                    read_csv(p, add)
                elif n.endswith((".wav", ".lock", ".tmp")) or n.startswith("."):
                    continue
                else:
                    try:
                        read_text(p, add, ids)
                    except UnicodeDecodeError:
                        continue
                files += 1
    return per_call, shared, segments, files


# ---------------------------------------------------------------- the PII set

def patterns(item):
    """(long patterns: any 4 in a row count, short patterns: the whole item counts)."""
    d = item.get("digits", "")
    short = [d] if 0 < len(d) < 4 else []
    if item["kind"] == "expiry" and d.startswith("0"):
        short.append(d[1:])
    return (d if len(d) >= 4 else ""), short


def survived_digits(item, runs):
    """How many of the item's digits are still there, in digit form, in these runs."""
    long, short = patterns(item)
    hit = [False] * len(item.get("digits", ""))
    for i in range(len(long) - 3):
        if any(long[i:i + 4] in r for r in runs):
            for k in range(i, i + 4):
                hit[k] = True
    if any(s and any(s in r and len(r) <= 5 for r in runs) for s in short):
        hit = [True] * len(hit)
    return sum(hit)


# the words of an e-mail question ("can I take an email address?", "what mail should I send
# it to?"): a host token "mail" inside them is not the address surviving
ASKING = {"email", "emails", "mail", "address"}


def email_survives(item, words):
    return [t for t in item["tokens"] if any(t in w and w not in ASKING for w in words)]


def check_set(a):
    truth = json.load(open(a.truth))
    calls = [c for c in truth["calls"] if not a.half or c["half"] == a.half]
    ids = [c["call_id"] for c in truth["calls"]]
    per_call, shared, segments, files = scan(a.paths, ids)
    missing = [c["call_id"] for c in calls if not per_call[c["call_id"]]]
    if missing:
        print(f"not in the outputs (left out of the figures): {', '.join(missing)}")
    report, leaks = {"missing_calls": missing}, []
    for half in ("dev", "test"):
        hc = [c for c in calls if c["half"] == half and c["call_id"] not in missing]
        if not hc:
            continue
        r = report[half] = {"calls": len(hc), "sensitive_items": 0, "sensitive_digits": 0,
                            "surviving_digits": 0, "items_with_survivors": 0,
                            "emails": 0, "emails_surviving": 0, "ordinary": 0,
                            "ordinary_redacted": 0, "ordinary_not_transcribed": 0,
                            "by_kind": {}}
        for c in hc:
            texts = per_call[c["call_id"]] + shared
            runs = [(run, t, p) for t, p in texts for run in digit_runs(t)]
            words = [(w, t, p) for t, p in texts for w in tokens(t)]
            for it in c["items"]:
                k = r["by_kind"].setdefault(it["kind"], {"items": 0, "digits": 0,
                                                         "surviving_digits": 0, "survived": 0})
                k["items"] += 1
                if not it["sensitive"]:
                    r["ordinary"] += 1
                    state = ordinary_state(c["call_id"], it, segments)
                    r["ordinary_redacted"] += state == "redacted"
                    r["ordinary_not_transcribed"] += state == "missing"
                    k["survived"] += state != "redacted"
                    if state == "redacted" and a.show:
                        print(f"REDACTED ({half}) {c['call_id']} {it['answer']!r}: "
                              + " | ".join(ordinary_texts(c["call_id"], it, segments)))
                    continue
                r["sensitive_items"] += 1
                if it["kind"] == "email":
                    r["emails"] += 1
                    found = [(t, p) for t, p in texts if email_survives(it, tokens(t))]
                    if found:
                        r["emails_surviving"] += 1
                        k["survived"] += 1
                        leaks.append((half, c["call_id"], it, found[0]))
                    continue
                n = len(it["digits"])
                left = survived_digits(it, [x[0] for x in runs])
                r["sensitive_digits"] += n
                r["surviving_digits"] += left
                k["digits"] += n
                k["surviving_digits"] += left
                if left:
                    r["items_with_survivors"] += 1
                    k["survived"] += 1
                    where = next((t, p) for run, t, p in runs
                                 if survived_digits(it, [run]))
                    leaks.append((half, c["call_id"], it, where))
        r["surviving_fraction"] = r["surviving_digits"] / max(1, r["sensitive_digits"])
        r["ordinary_redacted_fraction"] = r["ordinary_redacted"] / max(1, r["ordinary"])
    report["files_scanned"] = files
    if a.show:
        for half, cid, it, (t, p) in leaks:
            print(f"SURVIVES ({half}) {cid} {it['kind']}/{it['form']} {it['answer']!r}\n"
                  f"    in {os.path.relpath(p)}: {t[:300]!r}")
    for half, r in report.items():
        if half in ("dev", "test"):
            print(f"{half}: {r['calls']} calls; sensitive digits surviving "
                  f"{r['surviving_digits']}/{r['sensitive_digits']} "
                  f"({100 * r['surviving_fraction']:.2f}%), items with survivors "
                  f"{r['items_with_survivors']}, e-mails surviving {r['emails_surviving']}/"
                  f"{r['emails']}; ordinary numbers wrongly redacted {r['ordinary_redacted']}/"
                  f"{r['ordinary']} ({100 * r['ordinary_redacted_fraction']:.1f}%), not "
                  f"transcribed {r['ordinary_not_transcribed']}")
    print(f"{files} files scanned")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    bad = sum(r["surviving_digits"] + r["emails_surviving"]
              for h, r in report.items() if h in ("dev", "test"))
    if bad:
        print("FAIL: sensitive data survives")
        sys.exit(1)
    print("ok: no sensitive digits or e-mail addresses survive")


def overlapping(call, item, segments):
    ch = 0 if item["speaker"] == "agent" else 1
    return [s for s in segments if s["interaction_id"] == call and s["channel"] == ch
            and s["start_ms"] < item["end_ms"] + 300 and s["end_ms"] > item["start_ms"] - 300]


def ordinary_texts(call, item, segments):
    return [s["text"] for s in overlapping(call, item, segments)]


def ordinary_state(call, item, segments):
    texts = ordinary_texts(call, item, segments)
    if not texts:
        return "missing"
    return "redacted" if any(PLACEHOLDER.search(t) for t in texts) else "kept"


# ---------------------------------------------------------------- the bundled payment call

def check_call(out, call):
    import duckdb
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
    if row is None:
        ids = [r[0] for r in con.execute(f"select interaction_id from read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true)").fetchall()]
        print(f"error: no interaction {call!r} in {out}\nhint: give one of its ids: {', '.join(ids[:10])}")
        sys.exit(2)
    transcript, n = row
    if "[CARD_NUMBER]" not in transcript or n < 2:
        print(f"FAIL: expected card, expiry and CVV redacted in {call}: {n} redactions\n{transcript}")
        sys.exit(1)
    print(f"ok: no card digits anywhere; {n} redactions in {call}")


def main():
    if len(sys.argv) == 3 and not sys.argv[1].startswith("-"):
        check_call(sys.argv[1], sys.argv[2])
        return
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--half", choices=["dev", "test"])
    ap.add_argument("--json")
    ap.add_argument("--show", action="store_true", help="print every survivor and false redaction")
    ap.add_argument("paths", nargs="+")
    check_set(ap.parse_args())


if __name__ == "__main__":
    main()
