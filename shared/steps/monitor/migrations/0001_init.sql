-- The monitor's history: one row per computation of a month's report (the
-- dashboard's drift, metrics and overview pages read it, and its tests
-- create the table from this file). Needs the registry's models table
-- (migrated first).
CREATE TABLE monitor_reports (
    id                    bigserial        PRIMARY KEY,
    month                 date             NOT NULL CHECK (extract(day FROM month) = 1), -- the month reported on
    model_version         int              NOT NULL REFERENCES models (version),        -- the champion that scored it
    computed_at           timestamptz      NOT NULL DEFAULT now(),
    verdict               text             NOT NULL CHECK (verdict IN ('ok', 'warn', 'alert')),
    volume                bigint           NOT NULL CHECK (volume >= 0),                 -- records of the month
    rejects               bigint           NOT NULL DEFAULT 0 CHECK (rejects >= 0),
    usual_volume          double precision,  -- the trailing months' usual volume (NULL: no history yet)
    arrest_rate           double precision,  -- share of the month's records with an arrest
    reference_arrest_rate double precision,  -- the same share in the champion's training data
    prediction_psi        double precision,  -- PSI of the champion's predicted probabilities
    drifted_share         double precision NOT NULL DEFAULT 0, -- share of fields at or past psi_warn
    worst_field           text,
    -- The thresholds this report was judged with (from the monitor's environment).
    psi_warn              double precision NOT NULL,
    psi_alert             double precision NOT NULL,
    ks_alert              double precision NOT NULL,
    test_roc_auc          double precision,  -- the champion's own test ROC-AUC, what realized is compared with
    -- {"rows","positives","roc_auc","average_precision","log_loss","brier",
    --  "mean_predicted","observed_rate","mcc","threshold"}; NULL: not scored
    -- (no labels yet)
    realized              jsonb CHECK (realized IS NULL OR jsonb_typeof(realized) = 'object'),
    -- [{"field","kind":"numeric"|"categorical","input":"raw"|"model","psi",
    --   "ks" (numeric only),"missing_ref","missing_cur","status":"ok"|"warn"|"alert",
    --   "bins":[{"label","ref","cur"}]}]: ref and cur are shares (0..1)
    fields                jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(fields) = 'array'),
    -- [{"kind","message"}]: kind is e.g. drift, performance, volume, empty_column
    alerts                jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(alerts) = 'array'),
    report_bucket         text,              -- the full report (JSON) in the object store
    report_key            text,
    report_version        text,              -- its version (a versioned bucket)
    -- What was read: the month's crimes as key@etag#version. A month is
    -- reported once per model and input; a backfill re-fetching it is a new
    -- input, so a new row.
    input                 text             NOT NULL DEFAULT ''
);

CREATE INDEX monitor_reports_by_month ON monitor_reports (month DESC, computed_at DESC);

CREATE UNIQUE INDEX monitor_reports_once ON monitor_reports (month, model_version, input);
