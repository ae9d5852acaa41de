-- A model records the run generation it was trained in (a backfill that
-- changes a month begins a new generation of every run whose window holds
-- it: the new model replaces the run's older one), the version of its
-- artifact in the versioned models bucket (the artifact key is reused by a
-- new generation; the version keeps each model's own), and its recipe.

ALTER TABLE models
    ADD COLUMN generation       text NOT NULL DEFAULT '',
    ADD COLUMN artifact_version text NOT NULL DEFAULT '',
    ADD COLUMN recipe           text NOT NULL DEFAULT 'seed' CHECK (recipe <> '');
