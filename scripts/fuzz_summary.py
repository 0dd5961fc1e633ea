#!/usr/bin/env python3
"""Summarises one schemathesis JSON run report for scripts/fuzz.sh.

Prints the test cases generated and the failures by check; exits 1 when the API answered with a
server error (the `not_a_server_error` check), answered with a body its own document does not
allow (`response_schema_conformance`: JSON that violates the response schema, or a JSON body
that does not parse), or dropped or hung a request, 0 otherwise (findings of the other checks
are reported, not failed on).

usage: fuzz_summary.py IDENTITY REPORT.json
"""

import json
import sys
from collections import Counter

# What `not_a_server_error` reports (by failure class, as the JSON report names them).
GATING = {"ServerError", "ContentTypeServerError", "not_a_server_error"}
# What `response_schema_conformance` reports: a response the document does not allow.
GATING |= {"JsonSchemaError", "MalformedJson", "response_schema_conformance"}
# Run errors that mean the server failed (a dropped connection, a hung operation); others (a
# "Runtime Error" inside the fuzzer, a schema it cannot generate for) are reported only.
GATING_ERRORS = {"Network Error", "Unresponsive Operation", "Server Unavailable", "Unhealthy API"}


def main() -> int:
    who, path = sys.argv[1], sys.argv[2]
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"fuzz [{who}]: no report ({e})")
        return 1
    cases = report.get("test_cases", {})
    by_check: Counter = Counter()
    operations: dict = {}
    titles: dict = {}
    for failure in report.get("failures", []):
        check = failure.get("type") or failure.get("code") or "unknown"
        by_check[check] += failure.get("count", 1)
        operations.setdefault(check, set()).update(failure.get("operations", []))
        titles[check] = f"{failure.get('code', '')} {failure.get('title', '')}".strip()
    errors = report.get("errors", [])
    print(
        f"fuzz [{who}]: {cases.get('generated', 0)} test cases generated, "
        f"{cases.get('with_failures', 0)} with failures, "
        f"{sum(e.get('count', 1) for e in errors)} errored; "
        f"operations tested: {report.get('operations', {}).get('tested', '?')}; "
        f"stop: {report.get('stop_reason')}"
    )
    for check, count in sorted(by_check.items()):
        gate = "FAIL" if check in GATING else "report"
        ops = ", ".join(sorted(operations[check])[:8])
        print(f"  {gate:6} {check} ({titles[check]}): {count} unique; {ops}")
    for e in errors:
        gate = "FAIL" if e.get("title") in GATING_ERRORS else "report"
        print(f"  {gate:6} error {e.get('title')}: {e.get('count', 1)}")
    failed = any(check in GATING for check in by_check) or any(
        e.get("title") in GATING_ERRORS for e in errors
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
