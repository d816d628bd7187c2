#!/usr/bin/env python3
"""Check callsift's Parquet output against docs/schema.md (or docs/score.md for the tables of
`callsift score`) with two independent readers.

usage: check_parquet.py OUT_DIR SCHEMA_MD [EXTRA_COLUMN ...]
Reads each file with pyarrow and with DuckDB, compares column names, order, types and
nullability with the tables in docs/schema.md, checks the key-value metadata, and checks
that both readers agree on row counts and that segments join to interactions.
Prints one line per check; exits non-zero on the first mismatch.
"""
import re
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

SPAN = pa.list_(pa.field("item", pa.struct([pa.field("start_ms", pa.int64(), nullable=False),
                                             pa.field("end_ms", pa.int64(), nullable=False)]),
                          nullable=False))
TYPES = {
    "list<struct<start_ms: int64, end_ms: int64>>": SPAN,
    "double": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "float": pa.float32(),
    "timestamp[ms, tz=UTC]": pa.timestamp("ms", tz="UTC"),
    "list<string>": pa.list_(pa.field("item", pa.string(), nullable=True)),
}
DUCK = {"list<struct<start_ms: int64, end_ms: int64>>": "STRUCT(start_ms BIGINT, end_ms BIGINT)[]",
        "double": "DOUBLE", "bool": "BOOLEAN",
       "string": "VARCHAR", "int64": "BIGINT", "int32": "INTEGER", "float": "FLOAT",
        "timestamp[ms, tz=UTC]": "TIMESTAMP WITH TIME ZONE", "list<string>": "VARCHAR[]"}
META_KEYS = ["callsift.version", "callsift.schema_version", "callsift.model",
             "callsift.model_sha256", "callsift.settings", "callsift.created_at"]


def documented(schema_md):
    tables, current = {}, None
    for line in open(schema_md):
        m = re.match(r"^## (\w+\.parquet)", line)
        if m:
            current = tables.setdefault(m.group(1), [])
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current is not None and len(cells) == 4 and cells[1] in TYPES:
            current.append((cells[0], cells[1], cells[2] == "yes"))
    return tables


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    out, schema_md, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    docs = documented(schema_md)
    run_tables = "interactions.parquet" in docs
    # rule categories (beh_*, evt_*, topic_*: nullable booleans) follow the documented columns
    if run_tables:
        n_doc = len(docs["interactions.parquet"])
        actual = [f.name for f in pq.read_schema(f"{out}/interactions.parquet")]
        cats = [c for c in actual[n_doc:] if c.startswith(("beh_", "evt_", "topic_"))]
        if not cats:
            fail("interactions.parquet has no rule category columns")
        docs["interactions.parquet"] += [(c, "bool", True) for c in cats]
        docs["interactions.parquet"] += [(c, "string", True) for c in extra]
    con = duckdb.connect()
    for name, cols in docs.items():
        path = f"{out}/{name}"
        schema = pq.read_schema(path)
        got = [(f.name, f.type, f.nullable) for f in schema]
        want = [(n, TYPES[t], null) for n, t, null in cols]
        if got != want:
            fail(f"{name}: pyarrow schema\n  {got}\n!= documented\n  {want}")
        meta = pq.read_metadata(path).metadata or {}
        for k in META_KEYS if run_tables else META_KEYS[:2]:
            if k.encode() not in meta:
                fail(f"{name}: metadata key {k} missing")
        duck = con.execute(f"describe select * from '{path}'").fetchall()
        duck_cols = [(r[0], r[1]) for r in duck]
        want_duck = [(n, DUCK[t]) for n, t, _ in cols]
        if duck_cols != want_duck:
            fail(f"{name}: DuckDB sees\n  {duck_cols}\n!= documented\n  {want_duck}")
        n_arrow = pq.read_table(path).num_rows
        n_duck = con.execute(f"select count(*) from '{path}'").fetchone()[0]
        if n_arrow != n_duck:
            fail(f"{name}: pyarrow reads {n_arrow} rows, DuckDB {n_duck}")
        print(f"ok: {name}: {len(cols)} columns as documented, {n_arrow} rows in both readers")
    if not run_tables:
        return
    orphans = con.execute(
        f"select count(*) from '{out}/segments.parquet' s anti join '{out}/interactions.parquet' i using (interaction_id)"
    ).fetchone()[0]
    if orphans:
        fail(f"{orphans} segments have no interaction")
    bad = con.execute(
        f"""select count(*) from '{out}/interactions.parquet' i
            left join (select interaction_id, count(*) n from '{out}/segments.parquet' group by 1) s
            using (interaction_id)
            where i.status = 'ok' and coalesce(s.n, 0) != i.segment_count"""
    ).fetchone()[0]
    if bad:
        fail(f"{bad} interactions' segment_count disagrees with segments.parquet")
    print("ok: segments join to interactions and counts agree")


if __name__ == "__main__":
    main()
