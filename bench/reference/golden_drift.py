#!/usr/bin/python3
"""Regenerates internal/testdata/drift/golden_drift.json, the golden values of shared/ml/drift, with numpy and scipy.

Each case names a field of data/chicago/crimes_2017.csv.gz and how the reference and the month are drawn
from it (rows in file order, by month of the Date column, every n-th row, and a change made to the month);
the Go test draws the same rows and compares what shared/ml/drift computes with what is written here:

  numeric      edges = numpy.quantile(ref, k/10, method="lower"), k = 1..9, duplicates dropped;
               bins by numpy.searchsorted(edges, x, side="left"); shares of the non-missing values;
               grid = numpy.quantile(ref, i/500, method="lower"), i = 0..500;
               ks = scipy.stats.ks_2samp(month, grid).statistic, ks_full = ks_2samp(month, ref).statistic
  categorical  the 20 most frequent reference categories (ties by name) and "other"
  psi          sum((c - r) * log(c / r)) with both shares floored at 1e-4

Usage (Debian's python3-numpy 1.24 / python3-scipy 1.10 / python3-pandas 1.5; takes ~10 s):
  /usr/bin/python3 bench/reference/golden_drift.py [--repo DIR]
"""

import argparse
import json
import os

import numpy as np
import pandas as pd
import scipy
from scipy import stats

BINS, GRID, TOPK, FLOOR = 10, 501, 20, 1e-4

CASES = [
    # A real month against the eleven before it.
    {"name": "x_coordinate December", "field": "x_coordinate", "kind": "numeric",
     "ref": {"months": list(range(1, 12)), "every": 5}, "cur": {"months": [12], "every": 1}},
    {"name": "latitude shifted half a sd", "field": "latitude", "kind": "numeric",
     "ref": {"months": list(range(1, 12)), "every": 5}, "cur": {"months": [12], "every": 1},
     "change": {"shift_sd": 0.5}},
    {"name": "hour of day (discrete)", "field": "hour", "kind": "numeric",
     "ref": {"months": list(range(1, 12)), "every": 3}, "cur": {"months": [12], "every": 2}},
    {"name": "ward (few distinct values, as numbers)", "field": "ward", "kind": "numeric",
     "ref": {"months": list(range(1, 7)), "every": 4}, "cur": {"months": [7], "every": 1}},
    {"name": "primary_type, NARCOTICS halved", "field": "primary_type", "kind": "categorical",
     "ref": {"months": list(range(1, 12)), "every": 5}, "cur": {"months": [12], "every": 1},
     "change": {"drop_every_other": "NARCOTICS"}},
    {"name": "location_description (top 20 + other, missing values)", "field": "location_description",
     "kind": "categorical", "ref": {"months": list(range(1, 12)), "every": 5}, "cur": {"months": [12], "every": 1}},
]


def load(repo):
    df = pd.read_csv(os.path.join(repo, "data/chicago/crimes_2017.csv.gz"), dtype=str, keep_default_na=False)
    dt = pd.to_datetime(df["Date"], format="%m/%d/%Y %I:%M:%S %p")
    out = pd.DataFrame({"month": dt.dt.month.to_numpy(), "hour": dt.dt.hour.astype(float).to_numpy()})
    for col, name in [("X Coordinate", "x_coordinate"), ("Latitude", "latitude"), ("Ward", "ward")]:
        out[name] = [float(v) if v != "" else np.nan for v in df[col]]  # Python's float: correctly rounded
    out["primary_type"] = df["Primary Type"].to_numpy()
    out["location_description"] = df["Location Description"].to_numpy()
    return out


def rows(df, sel):
    idx = np.flatnonzero(np.isin(df["month"].to_numpy(), sel["months"]))
    return idx[:: sel["every"]]


def quantiles(s, qs):
    return [float(v) for v in np.quantile(s, qs, method="lower")]


def numeric(case, ref, cur):
    change = case.get("change", {})
    rs = np.sort(ref[~np.isnan(ref)])
    if "shift_sd" in change:
        cur = cur + change["shift_sd"] * float(np.std(rs))
    cs = np.sort(cur[~np.isnan(cur)])
    edges = []
    for e in quantiles(rs, np.arange(1, BINS) / BINS):
        if not edges or e > edges[-1]:
            edges.append(e)
    e = np.array(edges)
    rshare = np.bincount(np.searchsorted(e, rs, side="left"), minlength=len(e) + 1) / len(rs)
    cshare = np.bincount(np.searchsorted(e, cs, side="left"), minlength=len(e) + 1) / len(cs)
    grid = np.array(quantiles(rs, np.arange(GRID) / (GRID - 1)))
    return {"edges": edges, "ref_shares": list(rshare), "cur_shares": list(cshare),
            "ref_missing": float(np.mean(np.isnan(ref))), "cur_missing": float(np.mean(np.isnan(cur))),
            "grid": [float(v) for v in grid], "psi": psi(rshare, cshare),
            "ks": float(stats.ks_2samp(cs, grid).statistic), "ks_full": float(stats.ks_2samp(cs, rs).statistic)}


def categorical(case, ref, cur):
    change = case.get("change", {})
    if "drop_every_other" in change:
        hit = np.flatnonzero(cur == change["drop_every_other"])
        cur = np.delete(cur, hit[1::2])
    rp, cp = ref[ref != ""], cur[cur != ""]
    counts = {}
    for v in rp:
        counts[v] = counts.get(v, 0) + 1
    top = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOPK]]
    def shares(vals):
        out = [float(np.sum(vals == k)) / len(vals) for k in top]
        return out + [float(np.sum(~np.isin(vals, top))) / len(vals)]
    rshare, cshare = shares(rp), shares(cp)
    return {"top": top, "ref_shares": rshare, "cur_shares": cshare,
            "ref_missing": float(np.mean(ref == "")), "cur_missing": float(np.mean(cur == "")),
            "cur_rows": int(len(cur)), "psi": psi(np.array(rshare), np.array(cshare))}


def psi(r, c):
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    args = ap.parse_args()
    df = load(args.repo)
    out = []
    for case in CASES:
        ref = df[case["field"]].to_numpy()[rows(df, case["ref"])]
        cur = df[case["field"]].to_numpy()[rows(df, case["cur"])]
        res = numeric(case, ref.astype(float), cur.astype(float)) if case["kind"] == "numeric" else categorical(case, ref, cur)
        out.append(dict(case, **res))
    path = os.path.join(args.repo, "internal/testdata/drift/golden_drift.json")
    with open(path, "w") as f:
        json.dump({"generator": "bench/reference/golden_drift.py", "numpy": np.__version__, "scipy": scipy.__version__,
                   "bins": BINS, "grid": GRID, "top_k": TOPK, "floor": FLOOR, "cases": out}, f, indent=1)
        f.write("\n")
    for c in out:
        print(f"{c['name']}: psi {c['psi']:.6f}" + (f" ks {c['ks']:.6f} (full {c['ks_full']:.6f})" if "ks" in c else ""))


if __name__ == "__main__":
    main()
