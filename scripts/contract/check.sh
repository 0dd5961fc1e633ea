#!/usr/bin/env bash
# Checks openapi/openapi.json as client teams use it (tools pinned in package-lock.json):
#   - spectral lint, ruleset spectral:oas: 0 errors;
#   - redocly lint, recommended rules: 0 errors;
#   - openapi-typescript generates a client, and a short typed flow (client/flow.ts: login →
#     me → own assessment → one answer with typed inputs → score → public snapshot) compiles
#     with `tsc --strict` (TypeScript 5).
# Prints the counts of errors and warnings of both linters.
set -euo pipefail
cd "$(dirname "$0")"
DOC="../../openapi/openapi.json"

npm ci --no-audit --no-fund --loglevel=error

echo "--- spectral lint (spectral:oas)"
spectral_out="$(npx --no-install spectral lint "$DOC" -r .spectral.yaml -f json --quiet || true)"
python3 - "$spectral_out" <<'PY'
import json, sys
found = json.loads(sys.argv[1] or "[]")
errors = [f for f in found if f["severity"] == 0]
warnings = [f for f in found if f["severity"] == 1]
for f in errors:
    print("error", f["code"], ".".join(map(str, f["path"])), f["message"])
print(f"spectral: {len(errors)} errors, {len(warnings)} warnings")
sys.exit(1 if errors else 0)
PY

echo "--- redocly lint (recommended)"
npx --no-install redocly lint "$DOC" --extends=recommended --format=summary 2>&1 \
    | grep -vE '^ *(║|╔|╚)' | grep -v '^$' || { echo "redocly: errors"; exit 1; }

echo "--- openapi-typescript and tsc --strict"
npx --no-install openapi-typescript "$DOC" -o client/api.d.ts
npx --no-install tsc --version
npx --no-install tsc -p client/tsconfig.json
echo "typed client flow: compiles"
