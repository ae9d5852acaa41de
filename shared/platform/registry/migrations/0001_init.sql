-- The model registry: every model train registers, which one serves
-- (role = 'champion'), and who changed that when.

CREATE TABLE models (
    version            serial      PRIMARY KEY, -- the public model version: 1, 2, 3…
    run_date           date        NOT NULL,
    -- Who registered it: 'pipeline' for train; one current model per
    -- (run_date, source), see models_one_per_run.
    source             text        NOT NULL DEFAULT 'pipeline' CHECK (source <> ''),
    algorithm          text        NOT NULL CHECK (algorithm IN ('gbt', 'logreg')),
    params             jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(params) = 'object'),
    train_rows         bigint      NOT NULL CHECK (train_rows >= 0),
    test_rows          bigint      NOT NULL CHECK (test_rows >= 0),
    metrics            jsonb       NOT NULL CHECK (jsonb_typeof(metrics) = 'object'), -- metrics.Report
    feature_importance jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(feature_importance) = 'object'),
    features           jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(features) = 'array'),
    -- [{"bucket","key","etag"}]: the manifests the model was trained from.
    lineage            jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(lineage) = 'array'),
    artifact_bucket    text        NOT NULL CHECK (artifact_bucket <> ''),
    artifact_key       text        NOT NULL CHECK (artifact_key <> ''),
    artifact_etag      text        NOT NULL CHECK (artifact_etag <> ''),
    duration_ms        bigint      NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    code_version       text        NOT NULL DEFAULT '',
    role               text        NOT NULL DEFAULT 'challenger'
                                   CHECK (role IN ('champion', 'challenger', 'retired')),
    decision           jsonb,      -- the champion/challenger comparison behind its role
    created_at         timestamptz NOT NULL DEFAULT now(),
    promoted_at        timestamptz, -- when it last became champion
    -- Set when Register with Replace superseded this model by another
    -- artifact of the same run; deferred so both rows change in one transaction.
    replaced_by        int         REFERENCES models (version) DEFERRABLE INITIALLY DEFERRED,
    CHECK (role <> 'champion' OR promoted_at IS NOT NULL)
);

-- At most one champion; Promote demotes and promotes in one transaction, so
-- once there is a champion there is exactly one. The index also serves
-- predict's poll of the champion's version (an index-only scan).
CREATE UNIQUE INDEX models_one_champion ON models (role) INCLUDE (version) WHERE role = 'champion';

-- One current model per run and source: a replayed train event registers
-- nothing new.
CREATE UNIQUE INDEX models_one_per_run ON models (run_date, source) WHERE replaced_by IS NULL;

-- Who changed the champion, when and why.
CREATE TABLE promotions (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    from_version int         REFERENCES models (version), -- NULL: there was no champion
    to_version   int         NOT NULL REFERENCES models (version),
    reason       text        NOT NULL CHECK (reason <> ''),
    actor        text        NOT NULL CHECK (actor IN ('train', 'manual'))
);
