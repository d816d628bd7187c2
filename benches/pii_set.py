#!/usr/bin/env python3
"""Generate the spoken PII evaluation set: short stereo calls (agent left, customer right) in
which card numbers, CVVs, expiry dates, phone numbers, account numbers, sort codes and e-mail
addresses are read out in the ways people read them (digit by digit, in groups, in pairs,
with "double"/"triple"/"oh"), next to ordinary numbers that must stay in the text (prices,
times, counts, years, order numbers).

Every variant is an agent line and a customer line; eight variants make a call. All digits
come from a seeded generator (fake, Luhn-valid card numbers; never real ones), so the set is
the same on every machine. Calls with an odd number are the `dev` half, even ones the `test`
half: tune on dev only.

Writes into OUT_DIR: `pii_NNN.wav` (stereo 8 kHz G.711 mu-law, like samples/call_007.wav),
`manifest.csv`, `truth.json` (per call: half, and per variant its kind, speaker, spoken text,
call times and the sensitive digits or ordinary number) and `site_rules.toml` (the built-in
rule pack plus a `[pii]` table that allows order and reference numbers, as a site would).

Needs festival (kal_diphone and cmu_us_slt_arctic_hts voices) and sox, as samples/generate.py.
Usage: python3 benches/pii_set.py OUT_DIR [--calls N] [--half dev|test] [--only pii_002,...]
                                 [--sample N]   (a seeded choice of N calls, as tests/pii_set.rs)
                                 [--seed N]     (a fresh set: tune on it whole, or measure on it once)
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "samples"))
import generate  # noqa: E402  (synthesize, write_wav, RATE, NOISE_SIGMA)

SEED = 2211
CALLS = 34
PER_CALL = 8
ORDINARY_PER_CALL = 2
GAP_S = 0.6
BETWEEN_S = 1.2

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def unit_word(d, zero):
    return zero if d == "0" else UNITS[int(d)]


def one_by_one(digits, rng, doubles=False):
    """Digits as words; with `doubles`, runs of two or three equal digits as double/triple."""
    zero = rng.choice(["oh", "zero"])
    out, i = [], 0
    while i < len(digits):
        d = digits[i]
        n = 1
        while doubles and i + n < len(digits) and digits[i + n] == d and n < 3:
            n += 1
        if n == 3:
            out.append("triple " + unit_word(d, zero))
        elif n == 2:
            out.append("double " + unit_word(d, zero))
        else:
            out.append(unit_word(d, zero))
        i += n
    return " ".join(out)


def pair_word(p):
    """A two-digit group read as a number: 45 -> forty five, 05 -> oh five, 10 -> ten."""
    a, b = int(p[0]), int(p[1])
    if a == 0:
        return "oh " + UNITS[b] if b else "double oh"
    if a == 1:
        return TEENS[b]
    return TENS[a] + ("" if b == 0 else " " + UNITS[b])


def grouped(digits, sizes, rng, doubles=False):
    parts, i = [], 0
    for s in sizes:
        parts.append(one_by_one(digits[i:i + s], rng, doubles))
        i += s
    return ", ".join(parts)


def in_pairs(digits):
    return ", ".join(pair_word(digits[i:i + 2]) for i in range(0, len(digits), 2))


def luhn_complete(body):
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def rand_digits(rng, n, repeats=0):
    d = [str(rng.randrange(10)) for _ in range(n)]
    for _ in range(repeats):
        i = rng.randrange(n - 1)
        d[i + 1] = d[i]
    return "".join(d)


def card(rng, length=16, repeats=0):
    first = "3" if length == 15 else rng.choice("45")
    body = first + rand_digits(rng, length - 2, repeats)
    return luhn_complete(body)


# ---------------------------------------------------------------- sensitive variants
# each returns (agent cue, customer answer, digits, speaker of the digits)

CARD_CUES = [
    "Can I take the long card number please?",
    "What is the sixteen digit number on the front of the card?",
    "Go ahead with the card number when you are ready.",
    "And the number across the front of the card?",
    "Could you read me the card number?",
]


def v_card(rng):
    form = rng.choice(["groups", "one_by_one", "double", "pairs", "own_cue", "readback",
                       "amex", "slow_groups"])
    n = card(rng, 15 if form == "amex" else 16, 3 if form == "double" else 0)
    cue = rng.choice(CARD_CUES)
    if form == "groups":
        ans = "It is " + grouped(n, [4, 4, 4, 4], rng)
    elif form == "one_by_one":
        ans = one_by_one(n, rng)
    elif form == "double":
        ans = grouped(n, [4, 4, 4, 4], rng, doubles=True)
    elif form == "pairs":
        ans = "Yes, " + in_pairs(n)
    elif form == "own_cue":
        cue = "How would you like to pay today?"
        ans = "By card. My card number is " + grouped(n, [4, 4, 4, 4], rng, doubles=True)
    elif form == "readback":
        # the agent reads the number back: the digits are on the agent's channel
        return ("So that is " + grouped(n, [4, 4, 4, 4], rng) + ", is that right?",
                "Yes, that is right.", n, "agent", form)
    elif form == "amex":
        ans = grouped(n, [4, 6, 5], rng)
    else:
        ans = "Okay. " + grouped(n, [4, 4], rng) + ". Then " + grouped(n[8:], [4, 4], rng)
    return cue, ans, n, "customer", form


def v_cvv(rng):
    form = rng.choice(["plain", "its", "double", "commas", "amex"])
    n = rand_digits(rng, 4 if form == "amex" else 3, 1 if form == "double" else 0)
    cue = rng.choice([
        "And the three digit security code on the back?",
        "What is the C V V number?",
        "And the last three digits on the back of the card?",
        "Can I have the security number please?",
        "And the card verification code?",
    ])
    if form == "amex":
        cue = "And the four digit code on the front of the card?"
    if form == "its":
        ans = "It is " + one_by_one(n, rng)
    elif form == "double":
        ans = one_by_one(n, rng, doubles=True)
    elif form == "commas":
        ans = ", ".join(one_by_one(d, rng) for d in n)
    else:
        ans = one_by_one(n, rng)
    return cue, ans, n, "customer", form


def v_expiry(rng):
    month = rng.randrange(1, 13)
    year = rng.randrange(25, 32)
    n = f"{month:02d}{year:02d}"
    form = rng.choice(["pairs", "expires", "slash", "zero", "end"])
    cue = rng.choice([
        "And the expiry date?",
        "When does the card expire?",
        "What is the end date on the card?",
        "And the valid until date please?",
    ])
    mm = pair_word(f"{month:02d}") if month < 10 else pair_word(str(month))
    yy = pair_word(f"{year:02d}")
    if form == "pairs":
        ans = f"{mm} {yy}"
    elif form == "expires":
        ans = f"It expires {mm} {yy}"
    elif form == "slash":
        ans = f"{mm} slash {yy}"
    elif form == "zero":
        ans = one_by_one(n, rng)
    else:
        ans = f"The end date is {UNITS[month] if month < 10 else pair_word(str(month))} {yy}"
    return cue, ans, n, "customer", form


def v_phone(rng):
    form = rng.choice(["uk_mobile", "uk_mobile_double", "uk_landline", "us", "own_cue"])
    cue = rng.choice([
        "What is the best number to reach you on?",
        "Can I take a contact number?",
        "And your mobile number?",
        "Is there a phone number we can call you back on?",
    ])
    if form.startswith("uk_mobile") or form == "own_cue":
        n = "07" + rand_digits(rng, 9, 2 if form == "uk_mobile_double" else 0)
        ans = grouped(n, [5, 3, 3], rng, doubles=form != "uk_mobile")
        if form == "own_cue":
            cue = "Anything else you need from me?"
            ans = "You can call me back on " + ans
    elif form == "uk_landline":
        n = "020" + rand_digits(rng, 8)
        ans = grouped(n, [3, 4, 4], rng)
    else:
        n = str(rng.randrange(2, 10)) + rand_digits(rng, 9)
        ans = grouped(n, [3, 3, 4], rng)
    return cue, ans, n, "customer", form


def v_account(rng):
    form = rng.choice(["account", "bank", "member", "policy", "pairs", "sort_code",
                       "sort_pairs"])
    if form.startswith("sort"):
        n = rand_digits(rng, 6)
        cue = "And the sort code?"
        ans = in_pairs(n) if form == "sort_pairs" else grouped(n, [2, 2, 2], rng)
        return cue, ans, n, "customer", form
    n = rand_digits(rng, 9 if form == "policy" else 8, 1)
    cue = {
        "account": "Can I take your account number?",
        "bank": "And the bank account number?",
        "member": "What is your membership number?",
        "policy": "Can you give me the policy number?",
        "pairs": "What is the account number on your statement?",
    }[form]
    ans = in_pairs(n) if form == "pairs" else one_by_one(n, rng, doubles=True)
    return cue, ans, n, "customer", form


FIRST = ["john", "sarah", "jon", "emma", "david", "anna", "mark", "lucy"]
LAST = ["smith", "jones", "taylor", "brown", "wilson", "patel", "walker", "white"]
HOSTS = [("gmail", "dot com"), ("hotmail", "dot co dot uk"), ("outlook", "dot com"),
         ("example", "dot com"), ("mail dot example", "dot com"), ("yahoo", "dot co dot uk")]


def v_email(rng):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    host, tld = rng.choice(HOSTS)
    form = rng.choice(["dot", "initial", "number", "underscore", "plain"])
    if form == "dot":
        local = f"{first} dot {last}"
    elif form == "initial":
        local = f"{first[0]} {last}"
    elif form == "number":
        local = f"{last} {TENS[rng.randrange(2, 10)]}"
    elif form == "underscore":
        local = f"{first} underscore {last}"
    else:
        local = f"{first}{last}"
    cue = rng.choice([
        "Can I take an email address?",
        "What email should I send the receipt to?",
        "And your email address please?",
    ])
    ans = f"It is {local} at {host} {tld}"
    tokens = [t for t in (first if form != "number" else None, last, host.split()[0]) if t]
    return cue, ans, "", "customer", form, tokens


# ---------------------------------------------------------------- ordinary numbers
# each returns (agent cue, customer answer, the number as said)


def _price(r):
    a, b = r.randrange(2, 10), r.randrange(2, 10)
    return (r.choice(["How much were you charged?", "How much was the bill?"]),
            f"It was {TENS[a]} nine {TENS[b]} nine.", f"{a}9.{b}9")


def _pounds(r):
    a = r.randrange(2, 10)
    return ("And how much did you expect to pay?", f"About {TENS[a]} pounds.", f"{a}0")


def _hundred(r):
    a = r.randrange(1, 10)
    return ("How much was the refund?", f"{UNITS[a]} hundred and {TEENS[r.randrange(10)]} pounds.",
            f"{a}1x")


def _time(r):
    h = r.randrange(1, 12)
    return (r.choice(["When did it happen?", "What time did the engineer come?"]),
            f"At about {UNITS[h] if h < 10 else TEENS[h - 10]} {r.choice(['fifteen', 'thirty', 'forty five'])} this morning.",
            str(h))


def _count(r):
    n = r.randrange(2, 6)
    return (r.choice(["How many items were missing?", "How many boxes arrived?"]),
            f"{UNITS[n].capitalize()} items, I think.", str(n))


def _times_called(r):
    n = r.randrange(3, 8)
    return ("How many times have you called?", f"This is the {['third', 'fourth', 'fifth', 'sixth', 'seventh'][n - 3]} time, I called {UNITS[n]} times.", str(n))


def _year(r):
    y = r.randrange(10, 25)
    return ("How long have you been with us?",
            f"Since twenty {TEENS[y - 10] if y < 20 else pair_word(str(y))}.", f"20{y}")


def _wait(r):
    n = r.randrange(2, 10)
    return ("How long did you wait?", f"I waited {TENS[n]} minutes on hold.", f"{n}0")


def _date(r):
    d = r.choice(["fourteenth", "twentieth", "third", "ninth", "twenty first"])
    return ("When was it delivered?", f"On the {d} of {r.choice(['March', 'June', 'May'])}.", d)


def _order(r):
    n = rand_digits(r, r.randrange(6, 9))
    return ("Do you have the order number?",
            f"Yes, the order number is {one_by_one(n, r)}.", n)


def _reference(r):
    n = rand_digits(r, 6)
    return ("Do you have a reference for that?",
            f"The reference number is {one_by_one(n, r)}.", n)


def _ticket(r):
    n = rand_digits(r, 7)
    return ("What is the ticket number?", f"The ticket number is {one_by_one(n, r)}.", n)


def _pay_for(r):
    n = r.randrange(2, 5)
    return ("What would you like to do?", f"I would like to pay for {UNITS[n]} items today.",
            str(n))


def _house(r):
    n = r.randrange(21, 99)
    return ("What is the house number?", f"It is number {pair_word(str(n))}.", str(n))


def _percent(r):
    n = r.randrange(11, 20)
    return ("What did the letter say?", f"It said the price goes up by {TEENS[n - 10]} percent.",
            str(n))


def _days(r):
    n = r.randrange(2, 10)
    return ("How many days ago was that?", f"{UNITS[n].capitalize()} days ago, on Monday.", str(n))


def _questions(r):
    return ("Is there anything else?", "I have two questions to ask you.", "2")


def _hours(r):
    a, b = r.randrange(7, 10), r.randrange(4, 7)
    return ("When can you be in?", f"Any day from {UNITS[a]} to {UNITS[b]}.", f"{a}-{b}")


ORDINARY = [_price, _pounds, _hundred, _time, _count, _times_called, _year, _wait, _date,
            _order, _reference, _ticket, _pay_for, _house, _percent, _days, _questions, _hours]


def make_items(rng, half_calls):
    """All variants, dealt into calls: PER_CALL - ORDINARY_PER_CALL sensitive ones each."""
    kinds = [("card", v_card), ("cvv", v_cvv), ("expiry", v_expiry), ("phone", v_phone),
             ("account", v_account), ("email", v_email)]
    calls = []
    ordinary = list(ORDINARY)
    for c in range(half_calls):
        items = []
        for k in range(PER_CALL - ORDINARY_PER_CALL):
            kind, fn = kinds[(c * (PER_CALL - ORDINARY_PER_CALL) + k) % len(kinds)]
            r = fn(rng)
            item = {"kind": kind, "form": r[4], "sensitive": True, "cue": r[0],
                    "answer": r[1], "digits": r[2], "speaker": r[3]}
            if kind == "email":
                item["tokens"] = r[5]
            items.append(item)
        for _ in range(ORDINARY_PER_CALL):
            if not ordinary:
                ordinary = list(ORDINARY)
            cue, ans, num = ordinary.pop(rng.randrange(len(ordinary)))(rng)
            items.append({"kind": "ordinary", "form": "", "sensitive": False, "cue": cue,
                          "answer": ans, "number": num, "speaker": "customer"})
        rng.shuffle(items)
        calls.append(items)
    return calls


def synth_call(items, tmp):
    """Lay the variants out in time; returns per-channel samples and the items with times."""
    rate = generate.RATE
    events, t = [], generate.LEAD_S
    for item in items:
        for role, text in (("A", item["cue"]), ("C", item["answer"])):
            pcm = generate.synthesize(text, role, tmp)
            end = t + len(pcm) / rate
            events.append((role, t, pcm))
            if (role == "A") == (item["speaker"] == "agent"):
                item["start_ms"], item["end_ms"] = int(t * 1000), int(end * 1000)
            if role == "A":
                item["cue_start_ms"] = int(t * 1000)
            t = end + GAP_S
        t += BETWEEN_S - GAP_S
    total = int((t + generate.TAIL_S) * rate)
    rng = random.Random(total)
    chans = {r: [rng.gauss(0.0, generate.NOISE_SIGMA) for _ in range(total)] for r in "AC"}
    for role, start, pcm in events:
        off = int(round(start * rate))
        ch = chans[role]
        for i, s in enumerate(pcm):
            ch[off + i] += s
    return chans, total


def site_rules():
    with open(os.path.join(ROOT, "rules", "builtin.toml")) as f:
        pack = f.read()
    # a site decision: order, reference and ticket numbers are not personal data here
    table = ('\n[pii]\nallow_contexts = ["order number", "reference number", "reference is",'
             ' "ticket number"]\n')
    if "\n[pii]" in pack:
        head, _, tail = pack.partition("\n[pii]")
        rest = tail.split("\n[", 1)
        pack = head + (("\n[" + rest[1]) if len(rest) > 1 else "")
    return pack.rstrip() + "\n" + table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--calls", type=int, default=CALLS)
    ap.add_argument("--half", choices=["dev", "test"])
    ap.add_argument("--only", default="", help="comma-separated call ids")
    ap.add_argument("--sample", type=int, help="a seeded choice of this many calls (of --half)")
    ap.add_argument("--seed", type=int, default=SEED,
                    help="another seed deals a fresh set (other digits, forms and cues): use it "
                         "whole, either to tune on or as a set never seen to measure once")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    calls = make_items(rng, a.calls)  # always dealt in full, so a subset is the same calls
    only = set(filter(None, a.only.split(",")))
    if a.sample:
        ids = [f"pii_{i:03d}" for i in range(1, a.calls + 1)
               if not a.half or (i % 2 == 1) == (a.half == "dev")]
        only = set(random.Random(SEED + 1).sample(ids, a.sample))
    truth, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, items in enumerate(calls, 1):
            cid = f"pii_{i:03d}"
            half = "dev" if i % 2 else "test"
            if (a.half and half != a.half) or (only and cid not in only):
                continue
            chans, total = synth_call(items, tmp)
            master = os.path.join(tmp, "master.wav")
            generate.write_wav(master, chans, total, "stereo")
            subprocess.run(["sox", master, "-r", "8000", "-e", "u-law", "-b", "8",
                            os.path.join(a.out, cid + ".wav")], check=True)
            truth.append({"call_id": cid, "half": half, "items": items})
            rows.append([cid, cid + ".wav", "ag-pii", "cust-pii", "pii", "phone"])
            print(f"{cid} ({half}): {total / generate.RATE:.1f} s, {len(items)} variants",
                  flush=True)
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["call_id", "path", "agent_id", "customer_id", "queue", "contact_channel"])
        w.writerows(rows)
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump({"seed": a.seed, "calls": truth}, f, indent=1)
    with open(os.path.join(a.out, "site_rules.toml"), "w") as f:
        f.write(site_rules())


if __name__ == "__main__":
    main()
