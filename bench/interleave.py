#!/usr/bin/env python3
"""Compares cmd/pipeline binaries on the 2017 year, runs interleaved.

    go build -o /tmp/before ./cmd/pipeline   # at the commit before
    go build -o /tmp/after ./cmd/pipeline    # at the change
    bench/interleave.py 5 /tmp/before /tmp/after

Runs each binary N times in turn (before, after, before, …) with
`-to features -json` (TO=train to include train) from the repository's
root, and prints each step's median seconds and largest peak RSS, and the
median sums: with the VM's speed drifting, only figures of one run of this
script compare.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n, bins = int(sys.argv[1]), sys.argv[2:]
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
    res = {b: [] for b in bins}
    for _ in range(n):
        for b in bins:
            out = tempfile.mkdtemp(prefix="arrestcast-interleave-")
            try:
                p = subprocess.run([b, "-out", out, "-to", os.environ.get("TO", "features"), "-json"], cwd=root, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"{b} failed:\n{p.stderr[-2000:]}")
                res[b].append(json.loads(p.stdout))
            finally:
                shutil.rmtree(out, ignore_errors=True)
    def step(d, name):
        return next(s for s in d["steps"] if s["step"] == name)
    print("%-10s" % "step" + "".join("%18s" % os.path.basename(b) for b in bins))
    for name in [s["step"] for s in res[bins[0]][0]["steps"]]:
        row = "%-10s" % name
        for b in bins:
            secs = statistics.median(step(d, name)["seconds"] for d in res[b])
            mb = max(step(d, name)["peak_rss_mb"] for d in res[b])
            row += "%10.3f s/%4.0f MB" % (secs, mb)
        print(row)
    print("%-10s" % "total" + "".join("%18.3f" % statistics.median(d["total_seconds"] for d in res[b]) for b in bins))
    for b in bins:
        print(os.path.basename(b), " ".join("%.2f" % d["total_seconds"] for d in res[b]))

if __name__ == "__main__":
    main()
