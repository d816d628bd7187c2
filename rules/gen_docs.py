#!/usr/bin/env python3
"""Regenerate docs/rules.md from rules/builtin.toml (run after editing the pack).
A test fails when the doc and the pack disagree."""
import os
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
pack = tomllib.load(open(os.path.join(HERE, "builtin.toml"), "rb"))
WHY = {
    "behaviour": "an agent behaviour; its column is `beh_{id}`",
    "event": "a customer event; its column is `evt_{id}`",
    "topic": "a complaint topic; its column is `topic_{id}`",
}
out = [open(os.path.join(HERE, "docs_header.md")).read().rstrip(), ""]
if pack.get("synonyms"):
    out += ["## Synonym sets of the built-in pack", ""]
    for name, phrases in pack["synonyms"].items():
        out.append(f"- `<{name}>`: " + ", ".join(f"`{p}`" for p in phrases))
    out.append("")
for kind, title in (("behaviour", "Agent behaviours"), ("event", "Customer events"), ("topic", "Complaint topics")):
    out += [f"## {title}", ""]
    for c in pack["category"]:
        if c["kind"] != kind:
            continue
        out += [f"### {c['id']}", "", c["description"], "",
                f"- kind: {WHY[kind].format(id=c['id'])}; role: {c.get('role', 'any')}"
                + (f"; window: {c['window']}" if "window" in c else "")
                + (f"; at least {c['min_count']} matches" if c.get("min_count", 1) > 1 else "")
                + (f"; linked to measured holds ({c['hold']} the hold)" if "hold" in c else "")
                + ("; polarity: negative (a behaviour to avoid: counts against the QA score)" if c.get("polarity") == "negative" else "")]
        for key, label in (("any", "any of"), ("all", "all of"), ("near", "near"), ("not", "not when the turn says")):
            if c.get(key):
                out.append(f"- {label}: " + ", ".join(f"`{p}`" for p in c[key]))
        out.append("- fires on: " + " / ".join(f"“{e.replace(chr(10), ' ⏎ ')}”" for e in c["examples"]))
        out.append("- does not fire on: " + " / ".join(f"“{e.replace(chr(10), ' ⏎ ')}”" for e in c["counter_examples"]))
        out.append("")
open(os.path.join(HERE, "..", "docs", "rules.md"), "w").write("\n".join(out))
