#!/usr/bin/python3
"""Regenerate the golden files of shared/ml/sample and shared/ml/mi from the Python reference.

Run from anywhere with Debian's interpreter (scikit-learn 1.2, imbalanced-learn 0.10):

    /usr/bin/python3 bench/reference/golden_sample_mi.py

It rebuilds the seed's steps 4-9 on data/chicago/crimes_2017.csv.gz (enrich, split,
outliers, encode, scale, SMOTE 0.5 + RandomUnderSampler 0.8), then writes:

  internal/testdata/sample/imblearn_counts.json
      output class counts of imblearn's SMOTE / RandomUnderSampler for several shapes,
      including the real 2017 train shape.
  internal/testdata/mi/mi_sample.bin.gz
      50,000 rows drawn from the balanced 2017 train set, rounded to float32 so that
      Go reads back exactly the float64 values scikit-learn saw. Layout: n*d float32
      little-endian row-major, then n uint8 labels, then n uint8 "synthetic" flags
      (1 = row made by SMOTE).
  internal/testdata/mi/mi_golden.json
      column names, discrete masks and scikit-learn's mutual_info_classif values on
      that sample (all rows, and the original rows only; all-continuous, and with the
      one-hot/domestic columns discrete), the first values of numpy's legacy
      RandomState stream, a small multi-class case (with a single-sample class, K = 3
      and 5) stored with its data, and reference timings of imblearn and sklearn on
      the full 2017 train set.

Go tests read these files and never call Python.
"""

import gzip
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import imblearn
import sklearn
from imblearn.over_sampling import SMOTE
from imblearn.under_sampling import RandomUnderSampler
from sklearn.feature_selection import mutual_info_classif
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CRIMES = os.path.join(ROOT, "data", "chicago", "crimes_2017.csv.gz")
STATIONS = os.path.join(ROOT, "data", "chicago", "police_stations.csv")
SAMPLE_DIR = os.path.join(ROOT, "internal", "testdata", "sample")
MI_DIR = os.path.join(ROOT, "internal", "testdata", "mi")

SEED = 42
MI_SAMPLE_ROWS = 50_000
FREQ_COLS = [
    "iucr", "primary_type", "location_description", "fbi_code", "district",
    "nearest_police_station_district", "nearest_police_station_district_name",
    "beat", "ward", "community_area",
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def enrich(df, stations):
    df = df.dropna(subset=["X Coordinate", "Y Coordinate"]).copy()
    sx = stations["X COORDINATE"].to_numpy(float)
    sy = stations["Y COORDINATE"].to_numpy(float)
    x = df["X Coordinate"].to_numpy(float)
    y = df["Y Coordinate"].to_numpy(float)
    # Brute force over the 23 stations stands in for the seed's geopandas nearest join.
    d2 = (x[:, None] - sx[None, :]) ** 2 + (y[:, None] - sy[None, :]) ** 2
    near = np.argmin(d2, axis=1)
    date = pd.to_datetime(df["Date"], format="%m/%d/%Y %I:%M:%S %p")
    month, hour = date.dt.month, date.dt.hour
    season = np.select(
        [month.isin([12, 1, 2]), month.isin([3, 4, 5]), month.isin([6, 7, 8])],
        ["Winter", "Spring", "Summer"], "Autumn")
    day_time = np.select([hour < 6, hour < 12, hour < 18],
                         ["Early Morning", "Morning", "Afternoon"], "Night")
    out = pd.DataFrame({
        "date": df["Date"].to_numpy(),
        "iucr": df["IUCR"].to_numpy(),
        "primary_type": df["Primary Type"].to_numpy(),
        "description": df["Description"].to_numpy(),
        "location_description": df["Location Description"].to_numpy(),
        "arrest": df["Arrest"].to_numpy(),
        "domestic": df["Domestic"].to_numpy(),
        "beat": df["Beat"].to_numpy(),
        "district": df["District"].to_numpy(),
        "ward": df["Ward"].to_numpy(),
        "community_area": df["Community Area"].to_numpy(),
        "fbi_code": df["FBI Code"].to_numpy(),
        "x_coordinate": x,
        "y_coordinate": y,
        "distance_crime_to_police_station": np.sqrt(d2[np.arange(len(near)), near]),
        "nearest_police_station_district": stations["DISTRICT"].astype(str).to_numpy()[near],
        "nearest_police_station_district_name": stations["DISTRICT NAME"].to_numpy()[near],
        "season": season,
        "day_of_week": date.dt.dayofweek.to_numpy(),
        "day_time": day_time,
    })
    return out


def build_train():
    """Steps 4-8 of the seed on the 2017 year; returns (X train DataFrame, y)."""
    crimes = pd.read_csv(CRIMES, dtype=str)
    for c in ["X Coordinate", "Y Coordinate"]:
        crimes[c] = pd.to_numeric(crimes[c])
    crimes["Arrest"] = crimes["Arrest"] == "true"
    crimes["Domestic"] = crimes["Domestic"] == "true"
    stations = pd.read_csv(STATIONS, dtype={"DISTRICT": str})
    df = enrich(crimes, stations)

    # split
    df = df.drop_duplicates()
    for c in ["location_description", "primary_type", "fbi_code",
              "nearest_police_station_district_name", "district"]:
        df[c] = df[c].fillna("UNKNOWN")
    for c in ["beat", "ward", "community_area"]:
        num = pd.to_numeric(df[c])
        df[c] = num.fillna(num.median())
    df = df.drop(columns=["date", "description"])
    train, _ = train_test_split(df, test_size=0.2, random_state=SEED, stratify=df["arrest"])
    train = train.copy()

    # outliers (train statistics)
    dist = train["distance_crime_to_police_station"]
    mu, sd = dist.mean(), dist.std()
    train = train[(dist >= mu - 3 * sd) & (dist <= mu + 3 * sd)].copy()

    # encode
    enc = pd.DataFrame(index=train.index)
    for c in FREQ_COLS:
        enc[c + "_freq"] = train[c].map(train[c].value_counts(normalize=True)).astype(float)
    enc["x_coordinate"] = train["x_coordinate"]
    enc["y_coordinate"] = train["y_coordinate"]
    enc["distance_crime_to_police_station"] = np.log1p(train["distance_crime_to_police_station"])
    dow = (train["day_of_week"] + 1) % 7 + 1  # Sun = 1 ... Sat = 7
    enc["day_of_week_sin"] = np.sin(2 * np.pi * dow / 7)
    for s in ["Spring", "Summer", "Winter"]:  # one-hot, first (Autumn) dropped
        enc["season_" + s] = (train["season"] == s).astype(float)
    for s in ["Early Morning", "Morning", "Night"]:  # first (Afternoon) dropped
        enc["day_time_" + s] = (train["day_time"] == s).astype(float)
    enc["domestic"] = train["domestic"].astype(float)

    # scale
    cols = ["x_coordinate", "y_coordinate", "distance_crime_to_police_station"]
    enc[cols] = StandardScaler().fit_transform(enc[cols])
    return enc, train["arrest"].astype(np.uint8).to_numpy()


def class_counts(y):
    return {int(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))}


def count_case(n0, n1, smote_ratio, under_ratio, rng):
    """Runs imblearn on a random matrix with n0 zeros and n1 ones; records output counts."""
    y = np.array([0] * n0 + [1] * n1, dtype=np.uint8)
    X = rng.standard_normal((n0 + n1, 3))
    case = {"n0": n0, "n1": n1, "smote_ratio": smote_ratio, "under_ratio": under_ratio}
    try:
        _, ys = SMOTE(sampling_strategy=smote_ratio, k_neighbors=5, random_state=0).fit_resample(X, y)
        case["smote_counts"] = class_counts(ys)
    except ValueError as e:
        case["smote_error"] = str(e)
        ys = y
    try:
        rus = RandomUnderSampler(sampling_strategy=under_ratio, random_state=0)
        rus.fit_resample(np.zeros((len(ys), 1)), ys)
        case["under_counts"] = class_counts(ys[rus.sample_indices_])
    except ValueError as e:
        case["under_error"] = str(e)
    return case


def main():
    os.makedirs(SAMPLE_DIR, exist_ok=True)
    os.makedirs(MI_DIR, exist_ok=True)
    t0 = time.perf_counter()
    X, y = build_train()
    log(f"train {X.shape}, positives {y.mean():.4f}, built in {time.perf_counter() - t0:.1f} s")
    columns = list(X.columns)
    Xn = X.to_numpy(np.float64)

    t0 = time.perf_counter()
    Xs, ys = SMOTE(sampling_strategy=0.5, k_neighbors=5, random_state=SEED).fit_resample(Xn, y)
    rus = RandomUnderSampler(sampling_strategy=0.8, random_state=SEED)
    Xb, yb = rus.fit_resample(Xs, ys)
    t_balance = time.perf_counter() - t0
    synthetic = (rus.sample_indices_ >= len(y)).astype(np.uint8)
    log(f"balanced {Xb.shape} in {t_balance:.2f} s")

    # Output counts for several shapes, the real 2017 train shape among them.
    rng = np.random.default_rng(SEED)
    cases = [
        count_case(1000, 100, 0.5, 0.8, rng),
        count_case(1000, 100, 0.29, 0.57, rng),
        count_case(100, 10, 0.29, 0.57, rng),      # 0.29 * 100 is 28.999999999999996: 18 new rows
        count_case(110, 10, 0.5, 0.55, rng),       # 55 / 0.55 is 99.99999999999999: 99 kept
        count_case(3000, 700, 1.0, 1.0, rng),
        count_case(977, 131, 0.33, 0.7, rng),
        count_case(80, 520, 0.41, 0.9, rng),       # minority is class 0
        count_case(1000, 600, 0.5, 0.8, rng),      # SMOTE refuses: 500 - 600 <= 0
        count_case(500, 100, 0.5, 0.1, rng),       # RUS refuses: would need 1000 majority rows
    ]
    real = {"n0": int((y == 0).sum()), "n1": int((y == 1).sum()), "smote_ratio": 0.5,
            "under_ratio": 0.8, "smote_counts": class_counts(ys),
            "under_counts": class_counts(yb), "real_2017_train": True}
    cases.append(real)
    with open(os.path.join(SAMPLE_DIR, "imblearn_counts.json"), "w") as f:
        json.dump({"generator": "bench/reference/golden_sample_mi.py",
                   "imblearn": imblearn.__version__, "sklearn": sklearn.__version__,
                   "columns": columns, "cases": cases}, f, indent=1)

    # Sample for mutual information: float32-exact values so Go sees the same input.
    pick = np.sort(np.random.default_rng(SEED).choice(len(yb), MI_SAMPLE_ROWS, replace=False))
    S = Xb[pick].astype(np.float32).astype(np.float64)
    sy = yb[pick].astype(np.uint8)
    sflag = synthetic[pick]
    with gzip.open(os.path.join(MI_DIR, "mi_sample.bin.gz"), "wb", compresslevel=9) as f:
        f.write(S.astype("<f4").tobytes(order="C"))
        f.write(sy.tobytes())
        f.write(sflag.tobytes())

    binary = [c.startswith("season_") or c.startswith("day_time_") or c == "domestic"
              for c in columns]
    results = []
    for name, rows in [("all", np.arange(len(sy))), ("original", np.flatnonzero(sflag == 0))]:
        for mask_name, mask in [("continuous", False), ("binary_discrete", np.array(binary))]:
            t0 = time.perf_counter()
            mi = mutual_info_classif(S[rows], sy[rows], discrete_features=mask,
                                     n_neighbors=3, random_state=SEED)
            log(f"MI {name}/{mask_name}: {time.perf_counter() - t0:.2f} s")
            results.append({"rows": name, "n": int(len(rows)), "mask": mask_name,
                            "random_state": SEED, "mi": [float(v) for v in mi]})

    # numpy's legacy stream, which the Go noise reproduces.
    stream = {str(seed): {"random_sample": np.random.RandomState(seed).random_sample(4).tolist(),
                          "standard_normal": np.random.RandomState(seed).standard_normal(7).tolist()}
              for seed in (0, SEED, 4294967295)}

    # A small multi-class case: a class with one sample (dropped by the
    # estimator), ties, a discrete column, K = 3 and K = 5.
    er = np.random.default_rng(7)
    ne = 400
    ye = er.integers(0, 3, ne).astype(np.uint8)
    ye[17] = 3
    E = np.column_stack([er.integers(0, 5, ne).astype(float),
                         er.standard_normal(ne) + ye,
                         np.round(er.standard_normal(ne) + 0.5 * ye, 1),
                         er.integers(0, 3, ne) * 1000.0 + ye])
    small = {"X": E.tolist(), "y": ye.tolist(), "results": []}
    for mask_name, mask in [("continuous", False), ("first_discrete", np.array([True, False, False, False]))]:
        for k in (3, 5):
            small["results"].append({"mask": mask_name, "k": k, "random_state": 5, "mi": mutual_info_classif(
                E, ye, discrete_features=mask, n_neighbors=k, random_state=5).tolist()})

    t0 = time.perf_counter()
    mutual_info_classif(Xb, yb, discrete_features=False, n_neighbors=3, random_state=SEED)
    t_mi = time.perf_counter() - t0
    log(f"MI on the full balanced set {Xb.shape}: {t_mi:.2f} s")

    with open(os.path.join(MI_DIR, "mi_golden.json"), "w") as f:
        json.dump({"generator": "bench/reference/golden_sample_mi.py",
                   "sklearn": sklearn.__version__, "numpy": np.__version__,
                   "columns": columns, "binary_discrete": binary,
                   "n": int(len(sy)), "d": len(columns), "results": results,
                   "numpy_stream": stream, "small": small,
                   "reference_seconds": {"balance_full_train": round(t_balance, 2),
                                         "mi_full_balanced": round(t_mi, 2),
                                         "balanced_shape": list(Xb.shape)}}, f, indent=1)


if __name__ == "__main__":
    main()
