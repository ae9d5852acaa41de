#!/usr/bin/python3
"""Regenerates the golden files of shared/ml/prep and shared/ml/metrics from scikit-learn, pandas and numpy.

Writes:
  internal/testdata/prep/golden_prep.json        split, outlier bounds, log1p, cyclical, one-hot, frequency, scaler
  internal/testdata/metrics/golden_metrics.json  ROC-AUC, AP, log loss, Brier, threshold metrics, curves, calibration

The Go tests read these files and never need Python. Large inputs are not stored: they are generated
on both sides by the same exact-arithmetic rule (see `uniform` below: splitmix64 -> 53-bit floats, then
only + - * / floor, which IEEE float64 evaluates identically in Python and Go). Real-data cases use a
small sample of the seed's own split of data/chicago/crimes_2017.csv.gz, built with
bench/reference/seed_recipe.py (load, enrich, split), so its numbers are the seed's.

Usage (Debian's python3-sklearn 1.2 / pandas 1.5 / numpy 1.24; takes ~15 s):
  /usr/bin/python3 bench/reference/golden_prep_metrics.py [--repo DIR]
"""

import argparse
import base64
import hashlib
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def uniform(seed, n):
    """u[i] = (splitmix64(seed + (i+1)*GAMMA) >> 11) * 2**-53, i = 0..n-1 (exact in Go and Python)."""
    z = (np.uint64(seed) + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA)))
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def gen_scores(seed, n, quant=0, base=0.05, slope=0.6):
    """Scores s and labels y of a generated case: y = u2 < base + slope*s*s (s after quantisation)."""
    s = uniform(seed, n)
    if quant:
        s = np.floor(s * quant) / quant
    u2 = uniform(seed ^ 0x5555555555555555, n)
    y = (u2 < base + slope * s * s).astype(np.uint8)
    return y, s


def floats(a):
    """JSON list of floats, NaN as null."""
    return [None if (isinstance(v, float) and math.isnan(v)) else float(v) for v in np.asarray(a, dtype=float)]


def sha_indices(idx):
    return hashlib.sha256(np.asarray(idx, dtype="<i8").tobytes()).hexdigest()


# ---------------------------------------------------------------------------------------------- prep


def split_case(name, y, test_size, seed, full=True, y_field=None):
    from sklearn.model_selection import train_test_split

    y = np.asarray(y, dtype=np.uint8)
    train, test = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed)
    classes = sorted(set(y.tolist()))
    c = {
        "name": name,
        "n": int(len(y)),
        "test_size": test_size,
        "seed": seed,
        "classes": classes,
        "train_counts": [int((y[train] == k).sum()) for k in classes],
        "test_counts": [int((y[test] == k).sum()) for k in classes],
        "train_sha256": sha_indices(train),
        "test_sha256": sha_indices(test),
        "train_head": [int(v) for v in train[:20]],
        "test_head": [int(v) for v in test[:20]],
    }
    if y_field is not None:
        c.update(y_field)
    else:
        c["y"] = [int(v) for v in y]
    if full:
        c["train"] = [int(v) for v in train]
        c["test"] = [int(v) for v in test]
    return c


def split_error(name, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    try:
        train_test_split(np.arange(len(y)), test_size=test_size, stratify=np.asarray(y), random_state=seed)
    except ValueError as e:
        return {"name": name, "y": [int(v) for v in y], "test_size": test_size, "seed": seed, "sklearn_error": str(e)}
    raise AssertionError(f"{name}: sklearn accepted it")


def approximate_mode_cases():
    from sklearn.utils import _approximate_mode

    out = []
    for counts, draws, seed in [
        ([4, 2], 3, 0), ([5, 2], 4, 0), ([2, 2, 2, 1], 2, 0), ([2, 2, 2, 1], 2, 42),
        ([5, 5], 5, 42), ([5, 5], 5, 1), ([3, 3, 3, 3], 6, 7), ([3, 3, 3, 3], 2, 7),
        ([10, 10, 10], 10, 3), ([7, 13, 20, 1], 11, 99), ([1000, 3], 500, 5),
        ([210000, 51000], 208800, 42),
    ]:
        rng = np.random.RandomState(seed)
        res = _approximate_mode(np.array(counts), draws, rng)
        out.append({"class_counts": counts, "draws": draws, "seed": seed, "result": [int(v) for v in res]})
    return out


def real_frames(repo):
    sys.path.insert(0, os.path.join(repo, "bench", "reference"))
    import seed_recipe as sr

    crimes, stations = sr.load(os.path.join(repo, "data/chicago/crimes_2017.csv.gz"),
                               os.path.join(repo, "data/chicago/police_stations.csv"))
    enriched = sr.enrich(crimes, stations)
    dedup = enriched.drop_duplicates()
    train, test = sr.split(enriched)
    return sr, dedup, train, test


def as_strings(s):
    """A pandas column as the strings the Go side sees; NaN -> "" (missing)."""
    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    return [one(v) for v in s.tolist()]


def coded(values):
    """Strings as {dict, codes}: codes index dict, -1 is missing ("")."""
    d, codes, pos = [], [], {}
    for v in values:
        if v == "":
            codes.append(-1)
            continue
        if v not in pos:
            pos[v] = len(d)
            d.append(v)
        codes.append(pos[v])
    return {"dict": d, "codes": codes}


def outlier_fit(x, k=3.0):
    s = pd.Series(x)
    pd.set_option("compute.use_bottleneck", False)
    mu, sd = s.mean(), s.std()
    pd.set_option("compute.use_bottleneck", True)
    sd_bn = s.std()
    lo, hi = mu - k * sd, mu + k * sd
    keep = ((s >= lo) & (s <= hi)).to_numpy()
    return {"k": k, "n": int(s.count()), "mean": float(mu), "std": float(sd), "std_bottleneck": float(sd_bn),
            "lower": float(lo), "upper": float(hi), "kept": int(keep.sum()),
            "dropped_rows": [int(i) for i in np.flatnonzero(~keep)[:200]]}


def scaler_fit(cols, names, probe):
    from sklearn.preprocessing import StandardScaler

    X = np.asfortranarray(np.column_stack(cols).astype(np.float64))
    sc = StandardScaler().fit(X)
    Xc = np.ascontiguousarray(X)
    sc_c = StandardScaler().fit(Xc)
    P = np.column_stack(probe).astype(np.float64)
    out = sc.transform(P)
    nss = np.broadcast_to(sc.n_samples_seen_, (X.shape[1],))
    return {
        "features": names,
        "n": [int(v) for v in nss],
        "mean": floats(sc.mean_), "var": floats(sc.var_), "scale": floats(sc.scale_),
        "var_c_order": floats(sc_c.var_),
        "probe": [floats(P[:, j]) for j in range(P.shape[1])],
        "out": [floats(out[:, j]) for j in range(out.shape[1])],
    }


def onehot_case(feature, train_vals, test_vals):
    from sklearn.preprocessing import OneHotEncoder

    def col(vals):
        return pd.DataFrame({feature: [np.nan if v == "" else v for v in vals]}, dtype=object)

    o = OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False).fit(col(train_vals))
    M = o.transform(col(test_vals))
    assert ((M == 0) | (M == 1)).all() and (M.sum(axis=1) <= 1).all()
    hot = [int(np.flatnonzero(r)[0]) if r.any() else -1 for r in M]
    cats = [("" if (isinstance(c, float) and math.isnan(c)) else c) for c in o.categories_[0]]
    return {"feature": feature, "train": coded(train_vals), "test": coded(test_vals),
            "categories": cats, "names": [str(n) for n in o.get_feature_names_out([feature])], "hot": hot}


def freq_case(feature, train_vals, test_vals):
    tr = pd.Series([np.nan if v == "" else v for v in train_vals], dtype=object)
    te = pd.Series([np.nan if v == "" else v for v in test_vals], dtype=object)
    freq = tr.value_counts(normalize=True)
    counts = tr.value_counts()
    out = te.map(freq).astype(float).fillna(0.0)
    return {"feature": feature, "train": coded(train_vals), "test": coded(test_vals),
            "counts": {str(k): int(v) for k, v in counts.items()},
            "freq": {str(k): float(v) for k, v in freq.items()},
            "out": floats(out)}


def prep_golden(repo):
    sr, dedup, train, test = real_frames(repo)
    dist = sr.DIST
    g = {"generator": "see bench/reference/golden_prep_metrics.py: uniform(seed, n)"}

    # -- split
    rng = np.random.RandomState(2017)
    cases = [
        split_case("tie_5_5", [0] * 5 + [1] * 5, 0.5, 42),
        split_case("three_classes", [0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 2, 2], 0.25, 42),
        split_case("n1000_19.5pct", (rng.random_sample(1000) < 0.195).astype(int), 0.2, 42),
        split_case("n1001_seed0", (rng.random_sample(1001) < 0.3).astype(int), 0.2, 0),
        split_case("n101_half_t0.3", [i % 2 for i in range(101)], 0.3, 7),
        split_case("n57_t0.1_seedmax", (rng.random_sample(57) < 0.4).astype(int), 0.1, 2**32 - 1),
        split_case("labels_3_7_9", rng.choice([3, 7, 9], size=300, p=[0.5, 0.3, 0.2]), 0.2, 42),
        split_case("n10000_5pct", (rng.random_sample(10000) < 0.05).astype(int), 0.2, 123, full=False),
    ]
    y_real = dedup["arrest"].to_numpy().astype(np.uint8)
    packed = base64.b64encode(np.packbits(y_real, bitorder="little").tobytes()).decode()
    cases.append(split_case("crimes_2017_dedup", y_real, 0.2, 42, full=False,
                            y_field={"y_packed_bits_le_b64": packed}))
    # The seed's own split (a DataFrame) is the same rows in the same order as the positions hashed here.
    assert sha_indices(dedup.index.get_indexer(train.index)) == cases[-1]["train_sha256"]
    assert sha_indices(dedup.index.get_indexer(test.index)) == cases[-1]["test_sha256"]
    g["split"] = cases
    g["split_errors"] = [
        split_error("one_member_class", [0, 0, 0, 0, 1], 0.4, 42),
        split_error("test_smaller_than_classes", [0, 0, 1, 1, 2, 2, 0, 1, 2, 0], 0.1, 42),
    ]
    g["approximate_mode"] = approximate_mode_cases()

    # -- real sample of the seed's split (train for fitting, test for applying)
    trs = train.sample(2000, random_state=0)
    tes = test.sample(600, random_state=0)

    # -- outliers
    x = trs[dist].to_numpy()
    xn = x.copy()
    xn[::97] = np.nan
    big = 1000.0 + 5000.0 * uniform(11, 214000) * uniform(12, 214000)
    g["outlier"] = [
        dict(name="real_distance_sample", x=floats(x), **outlier_fit(x)),
        dict(name="real_distance_nan_every_97", x=floats(xn), **outlier_fit(xn)),
        dict(name="gen_214000", gen={"rule": "1000 + 5000*uniform(11,n)*uniform(12,n)", "n": 214000},
             **outlier_fit(big)),
    ]
    # Not a test case (the column is not stored): the seed's own bounds on its whole train split, for
    # engineers comparing a Go pipeline end to end with bench/reference/seed_recipe.py.
    full = outlier_fit(train[dist].to_numpy())
    full.pop("dropped_rows")
    g["seed_train_distance_bounds"] = dict(train_rows=int(len(train)), test_rows=int(len(test)),
                                           test_kept=int(((test[dist] >= full["lower"]) & (test[dist] <= full["upper"])).sum()),
                                           **full)

    # -- log1p, cyclical, day of week
    lx = np.concatenate([x[:500], [0.0, 1e-300, 1e-10, 0.5, 1.0, 1e10, -0.5, 5280.123, 2.0**-30, 7e-17]])
    g["log1p"] = {"x": floats(lx), "y": floats(np.log1p(lx))}
    cyc = []
    for period, vals in [(7, np.arange(0, 8, dtype=float)), (24, np.arange(0, 25, dtype=float)),
                         (12, np.array([0.5, 1.25, 3.0, 11.999, -2.0, 100.0])), (7, trs["day_of_week"].to_numpy()[:200].astype(float))]:
        cyc.append({"period": period, "v": floats(vals), "sin": floats(np.sin(2 * np.pi * vals / period)),
                    "cos": floats(np.cos(2 * np.pi * vals / period))})
    g["cyclical"] = cyc
    d = np.arange(7)
    remap = (d + 1) % 7 + 1
    g["day_of_week"] = {"monday0": [int(v) for v in d], "sunday1": [int(v) for v in remap],
                        "sin": floats(np.sin(2 * np.pi * pd.Series(remap) / 7))}

    # -- one-hot
    ohe = []
    for f in ["season", "day_time"]:
        ohe.append(onehot_case(f, as_strings(trs[f]), as_strings(tes[f]) + ["Unknown-Value", ""]))
    ohe.append(onehot_case("synthetic_missing", ["b", "", "a", "c", "b", "", "a"], ["a", "b", "c", "", "zz", "A"]))
    ohe.append(onehot_case("synthetic_unicode", ["Ñandú", "zebra", "Zebra", "éclair", "apple"],
                           ["Zebra", "éclair", "apple", "Ñandú", "zebra", "x"]))
    g["onehot"] = ohe

    # -- frequency
    g["freq"] = [freq_case(f, as_strings(trs[f]), as_strings(tes[f])) for f in sr.FREQ_COLUMNS]
    g["freq"].append(freq_case("synthetic_missing", ["a", "", "b", "a", "", "c", "a"], ["a", "b", "c", "", "d"]))

    # -- scaler
    lt = np.log1p(trs[dist].to_numpy())
    le = np.log1p(tes[dist].to_numpy())
    n = len(trs)
    const = np.full(n, 5.0)
    near = 1e9 + (np.arange(n) % 3) * 1e-7
    withnan = trs["x_coordinate"].to_numpy().copy()
    withnan[::10] = np.nan
    g["scaler"] = [
        dict(name="real_x_y_logdist", **scaler_fit(
            [trs["x_coordinate"].to_numpy(), trs["y_coordinate"].to_numpy(), lt],
            ["x_coordinate", "y_coordinate", dist],
            [tes["x_coordinate"].to_numpy(), tes["y_coordinate"].to_numpy(), le]),
            train=[floats(trs["x_coordinate"]), floats(trs["y_coordinate"]), floats(lt)]),
        dict(name="constant_near_constant_nan", **scaler_fit(
            [const, near, withnan], ["const", "near_constant", "x_nan_every_10"],
            [const[:5], near[:5], withnan[:5]]),
            train=[floats(const), floats(near), floats(withnan)]),
    ]
    gx = 1e6 + 1000.0 * uniform(21, 214000)
    gy = 3.0 * uniform(22, 214000) - 1.5
    g["scaler"].append(dict(name="gen_214000", gen={"rules": ["1e6 + 1000*uniform(21,n)", "3*uniform(22,n) - 1.5"],
                                                    "n": 214000},
                            **scaler_fit([gx, gy], ["gx", "gy"], [gx[:50], gy[:50]])))
    return g


# ---------------------------------------------------------------------------------------------- metrics


def curve_sample(a, full):
    a = np.asarray(a, dtype=float)
    if full:
        return {"len": int(len(a)), "values": floats(a)}
    idx = sorted(set(list(range(0, len(a), max(1, len(a) // 97))) + [len(a) - 1]))
    return {"len": int(len(a)), "index": idx, "values": floats(a[idx])}


def metric_case(name, y, s, prob=True, thresholds=(0.5,), gen=None):
    from sklearn import metrics as m
    from sklearn.calibration import calibration_curve

    y = np.asarray(y, dtype=np.uint8)
    s = np.asarray(s, dtype=np.float64)
    full = len(y) <= 2000
    c = {"name": name}
    if gen is not None:
        c["gen"] = gen
    else:
        c["y"] = [int(v) for v in y]
        c["s"] = floats(s)
    c["n"] = int(len(y))
    c["positives"] = int(y.sum())
    c["prob"] = prob
    if 0 < y.sum() < len(y):
        c["roc_auc"] = float(m.roc_auc_score(y, s))
        c["average_precision"] = float(m.average_precision_score(y, s))
        fpr, tpr, thr = m.roc_curve(y, s)
        c["roc"] = {"fpr": curve_sample(fpr, full), "tpr": curve_sample(tpr, full), "thresholds": curve_sample(thr, full)}
        p, r, t = m.precision_recall_curve(y, s)
        c["pr"] = {"precision": curve_sample(p, full), "recall": curve_sample(r, full), "thresholds": curve_sample(t, full)}
    if prob:
        c["log_loss"] = float(m.log_loss(y, s, labels=[0, 1]))
        c["log_loss_eps_1e-15"] = float(m.log_loss(y, s, eps=1e-15, labels=[0, 1]))
        c["brier"] = float(m.brier_score_loss(y, s))
        pt, pp = calibration_curve(y, s, n_bins=10)
        binids = np.searchsorted(np.linspace(0.0, 1.0, 11)[1:-1], s)
        cnt = np.bincount(binids, minlength=10)
        c["calibration"] = {"prob_true": floats(pt), "prob_pred": floats(pp),
                            "bin": [int(b) for b in np.flatnonzero(cnt)], "count": [int(v) for v in cnt[cnt > 0]]}
    at = []
    for t in thresholds:
        pred = (s >= t).astype(np.uint8)
        cm = m.confusion_matrix(y, pred, labels=[0, 1])
        at.append({"threshold": t, "matrix": cm.tolist(),
                   "accuracy": float(m.accuracy_score(y, pred)),
                   "precision": float(m.precision_score(y, pred, zero_division=0)),
                   "recall": float(m.recall_score(y, pred, zero_division=0)),
                   "f1": float(m.f1_score(y, pred, zero_division=0)),
                   "mcc": float(m.matthews_corrcoef(y, pred))})
    c["at"] = at
    return c


def metrics_errors():
    from sklearn import metrics as m

    out = []
    for name, y, s in [
        ("single_class_positive", [1, 1, 1], [0.2, 0.5, 0.9]),
        ("single_class_negative", [0, 0, 0, 0], [0.2, 0.5, 0.9, 0.1]),
        ("nan_score", [0, 1, 0, 1], [0.2, float("nan"), 0.3, 0.9]),
        ("inf_score", [0, 1, 0, 1], [0.2, float("inf"), 0.3, 0.9]),
    ]:
        try:
            m.roc_auc_score(np.array(y), np.array(s))
        except ValueError as e:
            out.append({"name": name, "y": y, "s": [str(v) if isinstance(v, float) and not math.isfinite(v) else v for v in s],
                        "sklearn_error": str(e)})
        else:
            raise AssertionError(name + ": sklearn accepted it")
    return out


def metrics_golden():
    g = {"generator": "see bench/reference/golden_prep_metrics.py: gen_scores(seed, n, quant)"}
    cases = []
    cases.append(metric_case("sklearn_doc", [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], thresholds=(0.5, 0.35, 0.0)))
    y, s = gen_scores(1, 300, quant=10)
    cases.append(metric_case("ties_q10_n300", y, s, thresholds=(0.5, 0.3, 0.7, 0.0, 1.0)))
    y, s = gen_scores(2, 2000, quant=100)
    cases.append(metric_case("ties_q100_n2000", y, s, thresholds=(0.5, 0.25)))
    y, _ = gen_scores(3, 500)
    cases.append(metric_case("all_same_0.5", y, np.full(500, 0.5), thresholds=(0.5, 0.6)))
    yp = np.array([0] * 30 + [1] * 20, dtype=np.uint8)
    cases.append(metric_case("perfect_with_ties", yp, np.where(yp == 1, 0.9, 0.1), thresholds=(0.5,)))
    sp = np.concatenate([np.linspace(0.0, 0.4, 30), np.linspace(0.6, 1.0, 20)])
    cases.append(metric_case("perfect_distinct", yp, sp, thresholds=(0.5, 0.61)))
    cases.append(metric_case("inverted", yp, 1.0 - sp, thresholds=(0.5,)))
    cases.append(metric_case("probs_at_bin_edges", [0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1],
                             [0.0, 0.1, 0.2, 0.30000000000000004, 0.3, 0.5, 0.7000000000000001, 0.7, 0.9, 1.0, 1.0, 1e-17],
                             thresholds=(0.5, 0.3)))
    cases.append(metric_case("signed_zero_logits", [0, 1, 0, 1, 1, 0, 0, 1], [-0.0, 0.0, -3.5, 2.25, 0.0, -0.0, 7.0, 1e300],
                             prob=False, thresholds=(0.0, 1.0)))
    for seed, n, q in [(42, 50000, 0), (43, 52245, 1000), (44, 50000, 20)]:
        y, s = gen_scores(seed, n, quant=q)
        cases.append(metric_case(f"gen_seed{seed}_n{n}_q{q}", y, s, thresholds=(0.5, 0.35),
                                 gen={"seed": seed, "n": n, "quant": q}))
    g["cases"] = cases
    g["errors"] = metrics_errors()
    return g


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KiB)")


def main(argv=None):
    import sklearn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    a = ap.parse_args(argv)
    repo = os.path.abspath(a.repo)
    versions = {"sklearn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__}
    p = prep_golden(repo)
    p["versions"] = versions
    write(os.path.join(repo, "internal/testdata/prep/golden_prep.json"), p)
    m = metrics_golden()
    m["versions"] = versions
    write(os.path.join(repo, "internal/testdata/metrics/golden_metrics.json"), m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
