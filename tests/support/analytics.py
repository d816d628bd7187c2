#!/usr/bin/env python3
"""Print, as JSON keyed by interaction_id, the analytics columns of callsift's output that the
end-to-end tests check (holds, hold music, hold etiquette, name use, sentiment, categories).

usage: analytics.py OUT_DIR
"""
import json
import sys

import duckdb

COLUMNS = ["hold_count", "hold_time_ms", "hold_music_ms", "holds_announced", "holds_thanked",
           "customer_name_uses", "sentiment_customer", "sentiment_customer_q1",
           "sentiment_customer_q4", "sentiment_customer_change", "sentiment_overall",
           "beh_over_scripted_name_use", "beh_customer_name_use", "talk_time_agent_ms"]


def main():
    out = sys.argv[1]
    con = duckdb.connect()
    rows = con.execute(
        f"select interaction_id, {', '.join(COLUMNS)} from read_parquet('{out}/interactions/*/*.parquet', hive_partitioning = true)"
    ).fetchall()
    seg = dict(con.execute(
        f"select interaction_id, min(sentiment) from read_parquet('{out}/segments/*/*.parquet', hive_partitioning = true) group by 1"
    ).fetchall())
    result = {r[0]: dict(zip(COLUMNS, r[1:]), min_segment_sentiment=seg.get(r[0])) for r in rows}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
