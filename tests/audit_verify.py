#!/usr/bin/env python3
"""Checks an `aol audit export` file with the standard library alone
(docs/audit.md): each row's hash covers its canonical bytes and the hash of
the row before. Exit 0 "intact, N rows, head H"; exit 1 naming the first
row that does not match."""
import hashlib
import json
import sys

GENESIS = "0" * 64


def canonical(row):
    fields = [
        str(row["id"]),
        row["at_utc"],
        row["actor"],
        "" if row["action_id"] is None else str(row["action_id"]),
        row["event"],
        row["data_json"],
    ]
    out = b""
    for field in fields:
        raw = field.encode("utf-8")
        out += str(len(raw)).encode("ascii") + b":" + raw + b","
    return out


def main(path):
    prev = None
    rows = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if prev is None:
                expected_prev = GENESIS if row["id"] == 1 else row["prev_hash"]
            else:
                if row["id"] != prev["id"] + 1:
                    print(f"broken at row {row['id']}: it follows row {prev['id']}")
                    return 1
                expected_prev = prev["hash"]
            if row["prev_hash"] != expected_prev:
                print(f"broken at row {row['id']}: its prev_hash is not the hash of the row before")
                return 1
            digest = hashlib.sha256(row["prev_hash"].encode("ascii") + canonical(row)).hexdigest()
            if digest != row["hash"]:
                print(f"broken at row {row['id']}: its content does not match its hash")
                return 1
            rows += 1
            prev = row
    print(f"intact, {rows} rows, head {prev['hash'] if prev else GENESIS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
