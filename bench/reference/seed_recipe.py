#!/usr/bin/python3
"""Python reference of the seed's whole recipe (docs: /work/shared/reference/seed-pipeline.md, steps 4-11).

It re-implements, from the written description only, what the seed's Airflow DAG does to the crimes file and
then trains the XGBoost the seed trains by hand, with the fixed parameters of the measured timing row
(200 trees, depth 8, hist, 2 threads; no Bayesian search). It is the benchmark reference for the Go pipeline:
it prints per-step seconds, peak memory, the kept features and the test metrics, and writes the ml-ready
train.csv / test.csv (selected features + arrest) into --out.

Usage:
  /usr/bin/python3 bench/reference/seed_recipe.py --crimes data/chicago/crimes_2017.csv.gz \
      --stations data/chicago/police_stations.csv --out DIR [--json]
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

try:  # current RSS per step when available; ru_maxrss gives the peak either way
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

SEED = 42
FREQ_COLUMNS = [
    "iucr",
    "primary_type",
    "location_description",
    "fbi_code",
    "district",
    "nearest_police_station_district",
    "nearest_police_station_district_name",
    "beat",
    "ward",
    "community_area",
]
# Frequencies dropped as correlated before the mutual-information rule (step 10).
CORRELATED = [
    "beat_freq",
    "ward_freq",
    "community_area_freq",
    "nearest_police_station_district_name_freq",
    "fbi_code_freq",
]
DIST = "distance_crime_to_police_station"


def snake(name):
    return "_".join(name.strip().lower().replace("-", " ").split())


def maxrss_mb():
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb():
    if psutil is None:
        return float("nan")
    return psutil.Process().memory_info().rss / (1024.0 * 1024.0)


class Steps:
    """Times each step and records RSS after it and the peak RSS so far."""

    def __init__(self):
        self.rows = []

    def run(self, name, fn, *args):
        before = maxrss_mb()
        t0 = time.perf_counter()
        out = fn(*args)
        sec = time.perf_counter() - t0
        peak = maxrss_mb()
        self.rows.append(
            {
                "step": name,
                "seconds": round(sec, 3),
                "rss_mb": round(rss_mb(), 1),
                "peak_rss_mb": round(peak, 1),
                "peak_growth_mb": round(peak - before, 1),
            }
        )
        return out


# Step "load": pandas CSV, snake_case column names.
def load(crimes_path, stations_path):
    crimes = pd.read_csv(crimes_path, low_memory=False)
    crimes.columns = [snake(c) for c in crimes.columns]
    stations = pd.read_csv(stations_path)
    stations.columns = [snake(c) for c in stations.columns]
    return crimes, stations


def season_of(month):
    return np.select(
        [month.isin([12, 1, 2]), month.isin([3, 4, 5]), month.isin([6, 7, 8])],
        ["Winter", "Spring", "Summer"],
        default="Autumn",
    )


def day_time_of(hour):
    return np.select(
        [hour <= 5, hour <= 11, hour <= 17],
        ["Early Morning", "Morning", "Afternoon"],
        default="Night",
    )


# Step 4: nearest police station (planar, EPSG:3435 feet), season, day of week, day time.
def enrich(crimes, stations):
    df = crimes.dropna(subset=["x_coordinate", "y_coordinate"]).copy()
    st = stations.dropna(subset=["x_coordinate", "y_coordinate"]).reset_index(drop=True)
    tree = cKDTree(st[["x_coordinate", "y_coordinate"]].to_numpy(dtype=float))
    dist, idx = tree.query(df[["x_coordinate", "y_coordinate"]].to_numpy(dtype=float), k=1)
    df[DIST] = dist
    df["nearest_police_station_district"] = st["district"].astype(str).to_numpy()[idx]
    df["nearest_police_station_district_name"] = st["district_name"].astype(str).to_numpy()[idx]
    date = pd.to_datetime(df["date"], format="%m/%d/%Y %I:%M:%S %p")
    df["date"] = date
    df["season"] = season_of(date.dt.month)
    df["day_of_week"] = date.dt.dayofweek  # 0 = Monday
    df["day_time"] = day_time_of(date.dt.hour)
    keep = [
        "date", "iucr", "primary_type", "description", "location_description", "arrest", "domestic",
        "beat", "district", "ward", "community_area", "fbi_code", "x_coordinate", "y_coordinate",
        DIST, "nearest_police_station_district", "nearest_police_station_district_name",
        "season", "day_of_week", "day_time",
    ]
    return df[keep]


# Step 5: duplicates, fills, drop date/description, stratified 80/20 split (seed 42).
def split(df):
    from sklearn.model_selection import train_test_split

    df = df.drop_duplicates().copy()
    for c in ["location_description", "primary_type", "fbi_code", "nearest_police_station_district_name"]:
        df[c] = df[c].fillna("UNKNOWN")
    for c in ["beat", "ward", "community_area"]:
        df[c] = df[c].fillna(df[c].median())
    df = df.drop(columns=["date", "description"])
    train, test = train_test_split(df, test_size=0.2, stratify=df["arrest"], random_state=SEED)
    return train.copy(), test.copy()


# Step 6: distance within train mean +- 3 sigma, applied to both.
def outliers(train, test):
    mu, sd = train[DIST].mean(), train[DIST].std()
    lo, hi = mu - 3 * sd, mu + 3 * sd

    def keep(d):
        return d[(d[DIST] >= lo) & (d[DIST] <= hi)].copy()

    return keep(train), keep(test)


# Step 7: log1p distance, dow remap + sin, one-hot (drop first), domestic 0/1, frequency encoding.
def encode(train, test):
    from sklearn.preprocessing import OneHotEncoder

    ohe = OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False)
    ohe.fit(train[["season", "day_time"]])
    names = [snake(n) for n in ohe.get_feature_names_out(["season", "day_time"])]
    freqs = {c: train[c].value_counts(normalize=True) for c in FREQ_COLUMNS}

    def apply(d):
        d = d.copy()
        d[DIST] = np.log1p(d[DIST])
        dow = (d["day_of_week"] + 1) % 7 + 1  # Monday 0 -> 2, ..., Sunday 6 -> 1
        d["day_of_week_sin"] = np.sin(2 * np.pi * dow / 7)
        d = d.drop(columns=["day_of_week"])
        oh = pd.DataFrame(ohe.transform(d[["season", "day_time"]]), columns=names, index=d.index)
        d = pd.concat([d.drop(columns=["season", "day_time"]), oh], axis=1)
        d["domestic"] = d["domestic"].astype(int)
        d["arrest"] = d["arrest"].astype(int)
        for c in FREQ_COLUMNS:
            d[c + "_freq"] = d[c].map(freqs[c]).astype(float).fillna(0.0)
            d = d.drop(columns=[c])
        return d

    return apply(train), apply(test)


# Step 8: StandardScaler (population std) on x, y, distance, fitted on train.
def scale(train, test):
    from sklearn.preprocessing import StandardScaler

    cols = ["x_coordinate", "y_coordinate", DIST]
    sc = StandardScaler().fit(train[cols])
    train, test = train.copy(), test.copy()
    train[cols] = sc.transform(train[cols])
    test[cols] = sc.transform(test[cols])
    return train, test


# Step 9: SMOTE(0.5, k=5) then RandomUnderSampler(0.8), train only.
def balance(train):
    from imblearn.over_sampling import SMOTE
    from imblearn.under_sampling import RandomUnderSampler

    X, y = train.drop(columns=["arrest"]), train["arrest"]
    X, y = SMOTE(sampling_strategy=0.5, k_neighbors=5, random_state=SEED).fit_resample(X, y)
    X, y = RandomUnderSampler(sampling_strategy=0.8, random_state=SEED).fit_resample(X, y)
    out = X.copy()
    out["arrest"] = y.to_numpy()
    return out


# Step 10: drop correlated frequencies, keep features with MI(kNN, k=3) > 0.05.
def features(train, test):
    from sklearn.feature_selection import mutual_info_classif

    X = train.drop(columns=["arrest"] + CORRELATED)
    mi = mutual_info_classif(X, train["arrest"], n_neighbors=3, random_state=SEED)
    scores = dict(zip(X.columns, (float(v) for v in mi)))
    kept = [c for c in X.columns if scores[c] > 0.05]
    return train[kept + ["arrest"]], test[kept + ["arrest"]], kept, scores


# Step 11 (fixed params of the timing row): XGBoost 200 trees, depth 8, hist, 2 threads.
def train_xgb(train, test):
    import xgboost as xgb

    clf = xgb.XGBClassifier(
        n_estimators=200, max_depth=8, tree_method="hist", n_jobs=2, random_state=SEED,
    )
    clf.fit(train.drop(columns=["arrest"]), train["arrest"])
    return clf


def metrics(y, p):
    from sklearn import metrics as m

    pred = (p >= 0.5).astype(int)
    return {
        "roc_auc": float(m.roc_auc_score(y, p)),
        "average_precision": float(m.average_precision_score(y, p)),
        "log_loss": float(m.log_loss(y, p)),
        "accuracy": float(m.accuracy_score(y, pred)),
        "precision": float(m.precision_score(y, pred)),
        "recall": float(m.recall_score(y, pred)),
        "f1": float(m.f1_score(y, pred)),
        "mcc": float(m.matthews_corrcoef(y, pred)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crimes", required=True)
    ap.add_argument("--stations", required=True)
    ap.add_argument("--out", required=True, help="directory for the ml-ready train.csv and test.csv")
    ap.add_argument("--json", action="store_true", help="print a machine-readable summary")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    s = Steps()
    wall0 = time.perf_counter()
    crimes, stations = s.run("load", load, a.crimes, a.stations)
    enriched = s.run("enrich", enrich, crimes, stations)
    train, test = s.run("split", split, enriched)
    train, test = s.run("outliers", outliers, train, test)
    train, test = s.run("encode", encode, train, test)
    train, test = s.run("scale", scale, train, test)
    train = s.run("balance", balance, train)
    train, test, kept, mi = s.run("features", features, train, test)
    model = s.run("train_xgboost", train_xgb, train, test)
    total = sum(r["seconds"] for r in s.rows)

    p = model.predict_proba(test.drop(columns=["arrest"]))[:, 1]
    res = metrics(test["arrest"].to_numpy(), p)

    train.to_csv(os.path.join(a.out, "train.csv"), index=False, float_format="%.17g")
    test.to_csv(os.path.join(a.out, "test.csv"), index=False, float_format="%.17g")

    summary = {
        "rows": {
            "raw": int(len(crimes)),
            "enriched": int(len(enriched)),
            "train_balanced": int(len(train)),
            "train_positive_share": round(float(train["arrest"].mean()), 4),
            "test": int(len(test)),
            "test_positive_share": round(float(test["arrest"].mean()), 4),
        },
        "steps": s.rows,
        "total_step_seconds": round(total, 3),
        "wall_seconds": round(time.perf_counter() - wall0, 3),
        "peak_rss_mb": round(maxrss_mb(), 1),
        "mutual_information": {k: round(v, 4) for k, v in mi.items()},
        "kept_features": kept,
        "test_metrics": {k: round(v, 4) for k, v in res.items()},
        "versions": versions(),
    }
    if a.json:
        json.dump(summary, sys.stdout, indent=2)
        print()
    else:
        report(summary)
    return 0


def versions():
    import imblearn
    import sklearn
    import xgboost

    return {
        "python": sys.version.split()[0],
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "imblearn": imblearn.__version__,
        "xgboost": xgboost.__version__,
    }


def report(s):
    r = s["rows"]
    print(f"rows: raw {r['raw']}, enriched {r['enriched']}, train (balanced) {r['train_balanced']} "
          f"({r['train_positive_share']:.1%} arrests), test {r['test']} ({r['test_positive_share']:.1%} arrests)")
    print(f"{'step':<15}{'seconds':>9}{'rss MB':>9}{'peak MB':>9}{'peak +MB':>10}")
    for row in s["steps"]:
        print(f"{row['step']:<15}{row['seconds']:>9.2f}{row['rss_mb']:>9.0f}{row['peak_rss_mb']:>9.0f}"
              f"{row['peak_growth_mb']:>10.0f}")
    print(f"{'total':<15}{s['total_step_seconds']:>9.2f}   (wall {s['wall_seconds']:.2f} s, peak RSS {s['peak_rss_mb']:.0f} MB)")
    print("mutual information:", ", ".join(f"{k}={v:.4f}" for k, v in s["mutual_information"].items()))
    print("kept features:", ", ".join(s["kept_features"]))
    print("test metrics (threshold 0.5):", ", ".join(f"{k}={v:.4f}" for k, v in s["test_metrics"].items()))


if __name__ == "__main__":
    sys.exit(main())
