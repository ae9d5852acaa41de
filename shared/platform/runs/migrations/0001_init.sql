-- Run tracking: one row per monthly pipeline run, one per attempt of a step.

CREATE TABLE pipeline_runs (
    run_date    date        PRIMARY KEY,
    status      text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE step_runs (
    id           bigserial   PRIMARY KEY,
    run_date     date        NOT NULL REFERENCES pipeline_runs (run_date),
    step         text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    attempt      int         NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    duration_ms  bigint,
    rows_in      bigint,
    rows_out     bigint,
    rejects      bigint,
    -- [{"bucket","key","etag"}], sorted; inputs_hash is their SHA-256, the
    -- identity of "the same inputs".
    input_keys   jsonb       NOT NULL DEFAULT '[]',
    inputs_hash  text        NOT NULL,
    output_keys  jsonb       NOT NULL DEFAULT '[]',
    error        text,
    permanent    boolean     NOT NULL DEFAULT false,
    code_version text        NOT NULL DEFAULT '',
    lease_until  timestamptz
);

-- At most one successful run of a step per month and inputs.
CREATE UNIQUE INDEX step_runs_one_done ON step_runs (run_date, step, inputs_hash) WHERE status = 'done';
-- At most one attempt of a step per month at a time, whatever its inputs:
-- two would write the same output keys.
CREATE UNIQUE INDEX step_runs_one_running ON step_runs (run_date, step) WHERE status = 'running';
CREATE INDEX step_runs_by_step ON step_runs (run_date, step, id);
