#!/usr/bin/env python3
"""Check an exported audit trail (`flask --app app audit export > trail.jsonl`) without the application.

Usage: python3 tools/verify_audit.py trail.jsonl      (exit status 0: intact; 1: not)

Every event of a case carries `prev_hash` (the previous event's `hash`, or 64 zeros for the case's
first event) and `hash` = SHA-256 of prev_hash followed by the event's canonical content: the JSON of
{instance_id, task_id, type, actor_id, at, data} with keys sorted and no whitespace, `at` in UTC to the
microsecond. An export of a period starts each case's chain where the period starts, at that event's
`prev_hash`. Only the Python standard library is needed.
"""
import hashlib
import json
import sys


def canonical(event: dict) -> bytes:
    content = {key: event[key] for key in ("instance_id", "task_id", "type", "actor_id", "at", "data")}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify(lines) -> list[str]:
    problems, heads = [], {}
    for number, line in enumerate(lines, 1):
        event = json.loads(line)
        case = event["instance_id"]
        if case in heads and event["prev_hash"] != heads[case]:
            problems.append(f"line {number} (event {event['id']}): does not follow the case's previous event")
        if hashlib.sha256(event["prev_hash"].encode() + canonical(event)).hexdigest() != event["hash"]:
            problems.append(f"line {number} (event {event['id']}): its content does not match its hash")
        heads[case] = event["hash"]
    return problems


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as trail:
        found = verify(trail)
    for problem in found:
        print(problem)
    print("intact" if not found else f"{len(found)} problem(s)")
    sys.exit(1 if found else 0)
