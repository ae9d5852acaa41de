-- The reference profile train stores beside each model's artifact (the
-- monitor compares every new month with it): {"bucket","key","version_id",
-- "etag"}, the exact version written with the model. NULL: registered
-- without one (before profiles, or by hand).
ALTER TABLE models ADD COLUMN profile jsonb CHECK (profile IS NULL OR jsonb_typeof(profile) = 'object');
