#!/usr/bin/env bash
# Checks that two commits' pipelines produce the same data and model on the
# real 2017 year: the raw months, the 12-month window, the enriched year and
# its rejects, every intermediate table (by its values, as cmd/tablecat
# prints them, when the bytes differ: the binary encoding may change), the
# ML-ready files (byte for byte) and the model artifact (equal but for
# created_at and code_version).
# Manifests and fitted-state JSON are not compared: their layout may change.
#
#   bench/identical.sh BASE [HEAD]     (HEAD defaults to the working tree)
set -euo pipefail
base=${1:?usage: bench/identical.sh BASE [HEAD]}
head=${2:-}
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/arrestcast-identical.XXXXXX")
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; [ -n "$head" ] && git -C "$root" worktree remove --force "$work/head" >/dev/null 2>&1; rm -rf "$work"' EXIT

run() { # tree out
  (cd "$1" && GOFLAGS=-buildvcs=false go run ./cmd/pipeline -no-search -json \
    -crimes "$root/data/chicago/crimes_2017.csv.gz" -stations "$root/data/chicago/police_stations.csv" \
    -out "$2" >/dev/null)
}
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
run "$work/base" "$work/out-base"
if [ -n "$head" ]; then
  git -C "$root" worktree add --detach "$work/head" "$head" >/dev/null
  run "$work/head" "$work/out-head"
else
  run "$root" "$work/out-head"
fi

(cd "$root" && GOFLAGS=-buildvcs=false go build -o "$work/tablecat" ./cmd/tablecat)
python3 - "$work/out-base" "$work/out-head" "$work/tablecat" <<'PY'
import json, os, re, subprocess, sys
a, b, tablecat = sys.argv[1], sys.argv[2], sys.argv[3]
def values(path):
    return subprocess.run([tablecat, path], check=True, capture_output=True).stdout
# A CSV's binary twin (name.<etag>.tbl) is the CSV's table in another form,
# named after the CSV's content: compared through what the steps read from it.
twin = re.compile(r'\.[0-9A-Za-z-]{16,64}\.tbl$')
def files(d):
    out = set()
    for dp, _, fs in os.walk(d):
        for f in fs:
            p = os.path.relpath(os.path.join(dp, f), d)
            if (p.endswith(('.csv', '.tbl')) and not twin.search(p)) or p.endswith('model.json'):
                out.add(p)
    return out
fa, fb = files(a), files(b)
bad = 0
for p in sorted(fa | fb):
    if p not in fa or p not in fb:
        print(('only in base: ' if p in fa else 'only in head: ') + p); bad += 1; continue
    x, y = open(os.path.join(a, p), 'rb').read(), open(os.path.join(b, p), 'rb').read()
    if p.endswith('model.json'):
        jx, jy = json.loads(x), json.loads(y)
        for k in ('created_at', 'code_version'):
            jx.pop(k, None); jy.pop(k, None)
        same = jx == jy
    else:
        same = x == y
        if not same and p.endswith('.tbl'):
            same = values(os.path.join(a, p)) == values(os.path.join(b, p))
    print(('same     ' if same else 'DIFFERS  ') + p)
    bad += not same
print(f'{len(fa & fb)} files compared, {bad} differ or are missing')
sys.exit(1 if bad else 0)
PY
