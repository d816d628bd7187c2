#!/usr/bin/env python3
"""Check callsift's Parquet output against docs/schema.md (or docs/score.md for the tables of
`callsift score`) with two independent readers.

usage: check_parquet.py OUT_DIR SCHEMA_MD [EXTRA_COLUMN ...]
A table documented as `## name.parquet` is one file; `## name/` is a dataset table (hive
date partitions of part files). Reads every file with pyarrow and with DuckDB, compares column
names, order, types and nullability with the documentation, checks the key-value metadata,
checks that pyarrow.dataset, DuckDB and polars (when installed) read a dataset table as one
table with its `date` column and the same row count, that every interaction id appears once,
and that segments join to interactions.
Prints one line per check; exits non-zero on the first mismatch.
"""
import glob
import re
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

SPAN = pa.list_(pa.field("item", pa.struct([pa.field("start_ms", pa.int64(), nullable=False),
                                             pa.field("end_ms", pa.int64(), nullable=False)]),
                          nullable=False))
REDACTIONS = pa.list_(pa.field("item", pa.struct([pa.field("kind", pa.string(), nullable=False),
                                                   pa.field("start_ms", pa.int64(), nullable=False),
                                                   pa.field("end_ms", pa.int64(), nullable=False)]),
                                nullable=False))
TYPES = {
    "list<struct<start_ms: int64, end_ms: int64>>": SPAN,
    "list<struct<kind: string, start_ms: int64, end_ms: int64>>": REDACTIONS,
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
        "list<struct<kind: string, start_ms: int64, end_ms: int64>>":
            "STRUCT(kind VARCHAR, start_ms BIGINT, end_ms BIGINT)[]",
        "double": "DOUBLE", "bool": "BOOLEAN",
       "string": "VARCHAR", "int64": "BIGINT", "int32": "INTEGER", "float": "FLOAT",
        "timestamp[ms, tz=UTC]": "TIMESTAMP WITH TIME ZONE", "list<string>": "VARCHAR[]"}
META_KEYS = ["callsift.version", "callsift.schema_version", "callsift.model",
             "callsift.model_sha256", "callsift.settings", "callsift.created_at"]


def documented(schema_md):
    tables, current = {}, None
    for line in open(schema_md):
        m = re.match(r"^## (\w+\.parquet|\w+/)\s*$", line)
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


def files_of(out, name):
    if not name.endswith("/"):
        return [f"{out}/{name}"]
    return sorted(glob.glob(f"{out}/{name}*/part-*.parquet"))


def main():
    out, schema_md, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    docs = documented(schema_md)
    run_tables = "interactions/" in docs
    # rule categories (beh_*, evt_*, topic_*: nullable booleans) follow the documented columns
    if run_tables:
        n_doc = len(docs["interactions/"])
        first = files_of(out, "interactions/")
        if not first:
            fail(f"{out}/interactions/ holds no part files")
        actual = [f.name for f in pq.read_schema(first[0])]
        cats = [c for c in actual[n_doc:] if c.startswith(("beh_", "evt_", "topic_"))]
        if not cats:
            fail("interactions has no rule category columns")
        docs["interactions/"] += [(c, "bool", True) for c in cats]
        docs["interactions/"] += [(c, "string", True) for c in extra]
    con = duckdb.connect()
    for name, cols in docs.items():
        files = files_of(out, name)
        if not files:
            if name == "events/":
                print("ok: events/: no part files (no category fired)")
                continue
            if name == "reviews/":
                print("ok: reviews/: no part files (written by callsift review, not by run)")
                continue
            fail(f"{name}: no files under {out}")
        n_arrow = n_duck = 0
        for path in files:
            schema = pq.read_schema(path)
            got = [(f.name, f.type, f.nullable) for f in schema]
            want = [(n, TYPES[t], null) for n, t, null in cols]
            if got != want:
                fail(f"{path}: pyarrow schema\n  {got}\n!= documented\n  {want}")
            meta = pq.read_metadata(path).metadata or {}
            for k in META_KEYS if run_tables else META_KEYS[:2]:
                if k.encode() not in meta:
                    fail(f"{path}: metadata key {k} missing")
            duck = con.execute(f"describe select * from read_parquet('{path}', hive_partitioning = false)").fetchall()
            duck_cols = [(r[0], r[1]) for r in duck]
            want_duck = [(n, DUCK[t]) for n, t, _ in cols]
            if duck_cols != want_duck:
                fail(f"{path}: DuckDB sees\n  {duck_cols}\n!= documented\n  {want_duck}")
            n_arrow += pq.read_table(path).num_rows
            n_duck += con.execute(f"select count(*) from read_parquet('{path}', hive_partitioning = false)").fetchone()[0]
        if n_arrow != n_duck:
            fail(f"{name}: pyarrow reads {n_arrow} rows, DuckDB {n_duck}")
        if name.endswith("/"):
            # the whole table at once, as analysts read it, with the date partition column
            t = ds.dataset(f"{out}/{name}", format="parquet", partitioning="hive").to_table()
            if t.num_rows != n_arrow or "date" not in t.column_names:
                fail(f"{name}: pyarrow.dataset reads {t.num_rows} rows (files: {n_arrow}), columns {t.column_names[-3:]}")
            glob_ = f"{out}/{name}*/*.parquet"
            n, dates = con.execute(
                f"select count(*), count(distinct date) from read_parquet('{glob_}', hive_partitioning = true)"
            ).fetchone()
            if n != n_arrow or dates < 1:
                fail(f"{name}: DuckDB reads {n} rows over {dates} dates as one table (files: {n_arrow})")
            try:
                import polars as pl
            except ImportError:
                pl = None
            if pl is not None:
                df = pl.scan_parquet(f"{out}/{name}**/*.parquet", hive_partitioning=True).collect()
                if df.height != n_arrow or "date" not in df.columns:
                    fail(f"{name}: polars reads {df.height} rows (files: {n_arrow})")
        print(f"ok: {name}: {len(cols)} columns as documented in {len(files)} file(s), {n_arrow} rows in every reader")
    if not run_tables:
        return
    inter = f"read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    seg = f"read_parquet('{out}/segments/*/*.parquet', hive_partitioning = true)"
    dup = con.execute(f"select count(*) - count(distinct interaction_id) from {inter}").fetchone()[0]
    if dup:
        fail(f"{dup} interaction ids appear more than once")
    orphans = con.execute(
        f"select count(*) from {seg} s anti join {inter} i using (interaction_id)"
    ).fetchone()[0]
    if orphans:
        fail(f"{orphans} segments have no interaction")
    bad = con.execute(
        f"""select count(*) from {inter} i
            left join (select interaction_id, count(*) n from {seg} group by 1) s
            using (interaction_id)
            where i.status = 'ok' and coalesce(s.n, 0) != i.segment_count"""
    ).fetchone()[0]
    if bad:
        fail(f"{bad} interactions' segment_count disagrees with the segments table")
    print("ok: every interaction once; segments join to interactions and counts agree")


if __name__ == "__main__":
    main()
