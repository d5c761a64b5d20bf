#!/usr/bin/env python3
"""Registers many sandboxes at once by copying one registered sandbox's row in Porthole's SQLite store.

The CLI opens the store once per sandbox; 10,000 rows through it take minutes. The schema is read
from the file itself (PRAGMA table_info), so every column but the id is copied from the template
row whatever columns the current schema has, and the store's own triggers record each insert in
its change feed, as for any other writer.

  seed_sandboxes.py --db DATA/porthole.sqlite --template bench --count 10000 --prefix sb \
                    --hosts-out hosts.txt --port 3000 --base-domain preview.localhost
"""
import argparse
import sqlite3
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--template", required=True, help="id of an existing sandbox to copy")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--prefix", default="sb")
    ap.add_argument("--hosts-out", required=True, help="file to write one preview Host per line")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--base-domain", default="preview.localhost")
    args = ap.parse_args()

    con = sqlite3.connect(args.db, timeout=10)
    columns = [row[1] for row in con.execute("PRAGMA table_info(sandboxes)")]
    if "id" not in columns:
        print(f"{args.db}: no sandboxes table with an id column (columns: {columns})", file=sys.stderr)
        return 1
    if con.execute("SELECT 1 FROM sandboxes WHERE id = ?", (args.template,)).fetchone() is None:
        print(f"{args.db}: template sandbox {args.template!r} not found", file=sys.stderr)
        return 1
    others = [c for c in columns if c != "id"]
    ids = [f"{args.prefix}{i:05d}" for i in range(args.count)]
    with con:
        con.executemany(
            f"INSERT OR REPLACE INTO sandboxes (id, {', '.join(others)}) "
            f"SELECT ?, {', '.join(others)} FROM sandboxes WHERE id = ?",
            ((sandbox_id, args.template) for sandbox_id in ids))
    con.close()
    with open(args.hosts_out, "w") as f:
        for sandbox_id in ids:
            f.write(f"{args.port}-{sandbox_id}.{args.base_domain}\n")
    print(f"registered {len(ids)} sandboxes ({ids[0]} … {ids[-1]}) copied from {args.template!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
