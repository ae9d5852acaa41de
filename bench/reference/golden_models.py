#!/usr/bin/python3
"""Golden files for the Go model packages, from scikit-learn and XGBoost on a small slice of real data.

The slice comes from the ml-ready train.csv/test.csv that bench/reference/seed_recipe.py writes (the 2017
Chicago crimes, prepared as the seed does: 9 features + arrest). Values are rounded to 6 significant digits
*before* fitting, so Go reads exactly the numbers Python fitted on.

Writes:
  internal/testdata/linear/logreg_data.csv.gz   features + arrest + split (train/eval)
  internal/testdata/linear/logreg_golden.json   sklearn LogisticRegression(lbfgs) coefficients, intercepts and
                                              eval probabilities for several C
  internal/testdata/gbt/xgb_data.csv.gz         features (a few NaN injected) + arrest + split (train/test)
  internal/testdata/gbt/xgb_golden.json         XGBoost params, test ROC-AUC / AP and test probabilities

Usage:
  /usr/bin/python3 bench/reference/seed_recipe.py ... --out /tmp/arrestcast-mlready
  /usr/bin/python3 bench/reference/golden_models.py --mlready /tmp/arrestcast-mlready --repo .
"""

import argparse
import json
import os
import sys

import numpy as np
import pandas as pd

SEED = 20170101


def sample(df, n, rng):
    """Stratified sample of n rows (keeps the arrest share)."""
    parts = []
    for _, g in df.groupby("arrest"):
        k = int(round(n * len(g) / len(df)))
        parts.append(g.iloc[rng.choice(len(g), size=k, replace=False)])
    return pd.concat(parts).sort_index()


def round6(df):
    out = df.copy()
    for c in out.columns:
        if c not in ("arrest", "split"):
            out[c] = out[c].map(lambda v: float("%.6g" % v) if np.isfinite(v) else v)
    return out


def write_csv_gz(df, path):
    df.to_csv(path, index=False, float_format="%.6g", compression={"method": "gzip", "mtime": 0})


def logreg(train, test, outdir, rng):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    # Refits near the optimum end in line-search stops that sklearn reports as warnings; the Newton check
    # below is what vouches for the result.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    tr = sample(train, 2000, rng)
    ev = sample(test, 500, rng)
    feats = [c for c in tr.columns if c != "arrest"]
    # Standardise (train statistics): the raw frequency features are so unevenly scaled that lbfgs stalls
    # short of the optimum (by ~5e-4 on a coefficient at C=100), which would make a poor golden.
    mu, sd = tr[feats].mean(), tr[feats].std(ddof=0)
    tr[feats] = (tr[feats] - mu) / sd
    ev[feats] = (ev[feats] - mu) / sd
    tr, ev = round6(tr), round6(ev)
    data = pd.concat([tr.assign(split="train"), ev.assign(split="eval")])
    write_csv_gz(data, os.path.join(outdir, "logreg_data.csv.gz"))
    cases = []
    X, y = tr[feats].to_numpy(), tr["arrest"].to_numpy()
    for C in (1.0, 0.01, 100.0):
        # One lbfgs fit stops early on these unevenly scaled features: scipy's L-BFGS-B also stops on a
        # relative decrease of f below its default ftol (2.2e-9), whatever tol says. Warm-started refits run
        # the same solver on until the coefficients stop moving, i.e. to the optimum of the objective.
        m = LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=100000, warm_start=True)
        m.fit(X, y)
        single = np.concatenate([m.coef_[0], m.intercept_])
        prev, refits = single, 1
        while refits < 500:
            m.fit(X, y)
            refits += 1
            cur = np.concatenate([m.coef_[0], m.intercept_])
            if np.abs(cur - prev).max() < 1e-11:
                break
            prev = cur
        cur = np.concatenate([m.coef_[0], m.intercept_])
        exact = newton_logreg(X, y, C)
        if np.abs(cur - exact).max() > 1e-5:
            raise SystemExit(f"C={C}: sklearn lbfgs {cur} did not reach the Newton optimum {exact}")
        p = m.predict_proba(ev[feats].to_numpy())[:, 1]
        cases.append(
            {
                "C": C,
                "coef": [float(v) for v in m.coef_[0]],
                "intercept": float(m.intercept_[0]),
                "lbfgs_fits": refits,
                "single_fit_max_coef_error": float(np.abs(single - exact).max()),
                "newton_max_coef_difference": float(np.abs(cur - exact).max()),
                "newton_coef": [float(v) for v in exact[:-1]],
                "newton_intercept": float(exact[-1]),
                "eval_proba": [float(v) for v in p],
            }
        )
    golden = {
        "generator": "bench/reference/golden_models.py",
        "model": "sklearn.linear_model.LogisticRegression(solver='lbfgs', tol=1e-12, warm_start=True), refitted until converged; checked against Newton's method",
        "features": feats,
        "cases": cases,
        "versions": versions(),
    }
    with open(os.path.join(outdir, "logreg_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


def newton_logreg(X, y, C):
    """Exact optimum of C*sum(logloss) + 0.5*|w|^2 (intercept unpenalised) by Newton's method."""
    Xa = np.hstack([X, np.ones((len(X), 1))])
    th = np.zeros(Xa.shape[1])
    pen = np.ones(Xa.shape[1])
    pen[-1] = 0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(Xa @ th)))
        g = C * Xa.T @ (p - y) + pen * th
        H = C * (Xa * (p * (1 - p))[:, None]).T @ Xa + np.diag(pen)
        th = th - np.linalg.solve(H, g)
        if np.abs(g).max() < 1e-11:
            break
    return th


def xgb_golden(train, test, outdir, rng):
    import xgboost as xgb
    from sklearn.metrics import average_precision_score, roc_auc_score

    tr = sample(train, 4000, rng)
    te = sample(test, 2000, rng)
    feats = [c for c in tr.columns if c != "arrest"]
    # Missing values on two features (3 % of rows each) exercise the learned default directions.
    for df in (tr, te):
        for c in feats[:2]:
            mask = rng.random(len(df)) < 0.03
            df.loc[mask, c] = np.nan
    tr, te = round6(tr), round6(te)
    data = pd.concat([tr.assign(split="train"), te.assign(split="test")])
    write_csv_gz(data, os.path.join(outdir, "xgb_data.csv.gz"))
    params = {
        "n_estimators": 100,
        "max_depth": 6,
        "learning_rate": 0.1,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "gamma": 0.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "max_bin": 256,
        "tree_method": "hist",
        "grow_policy": "depthwise",
    }
    m = xgb.XGBClassifier(**params, n_jobs=1, random_state=0)
    m.fit(tr[feats], tr["arrest"])
    p = m.predict_proba(te[feats])[:, 1]
    # How far XGBoost moves from itself when only the binning changes: the yardstick for another
    # histogram implementation's probabilities.
    self_diff = {}
    for mb in (128, 512):
        alt = xgb.XGBClassifier(**{**params, "max_bin": mb}, n_jobs=1, random_state=0).fit(tr[feats], tr["arrest"])
        self_diff[f"max_bin_{mb}"] = float(np.abs(alt.predict_proba(te[feats])[:, 1] - p).mean())
    exact = xgb.XGBClassifier(**{**params, "tree_method": "exact"}, n_jobs=1, random_state=0).fit(tr[feats], tr["arrest"])
    self_diff["exact"] = float(np.abs(exact.predict_proba(te[feats])[:, 1] - p).mean())
    golden = {
        "generator": "bench/reference/golden_models.py",
        "model": "xgboost.XGBClassifier",
        "params": params,
        "features": feats,
        "test_roc_auc": float(roc_auc_score(te["arrest"], p)),
        "test_average_precision": float(average_precision_score(te["arrest"], p)),
        "self_mean_abs_proba_diff": self_diff,
        "test_proba": [float(v) for v in p],
        "versions": versions(),
    }
    with open(os.path.join(outdir, "xgb_golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    return golden


def versions():
    import sklearn
    import xgboost

    return {"numpy": np.__version__, "pandas": pd.__version__, "sklearn": sklearn.__version__,
            "xgboost": xgboost.__version__}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mlready", required=True, help="--out dir of seed_recipe.py (train.csv, test.csv)")
    ap.add_argument("--repo", default=".", help="repository root")
    a = ap.parse_args(argv)
    train = pd.read_csv(os.path.join(a.mlready, "train.csv"))
    test = pd.read_csv(os.path.join(a.mlready, "test.csv"))
    lin = os.path.join(a.repo, "internal", "testdata", "linear")
    gbt = os.path.join(a.repo, "internal", "testdata", "gbt")
    os.makedirs(lin, exist_ok=True)
    os.makedirs(gbt, exist_ok=True)
    rng = np.random.default_rng(SEED)
    logreg(train, test, lin, rng)
    g = xgb_golden(train, test, gbt, rng)
    print(f"wrote {lin} and {gbt}; xgboost test ROC-AUC {g['test_roc_auc']:.4f}, AP {g['test_average_precision']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
