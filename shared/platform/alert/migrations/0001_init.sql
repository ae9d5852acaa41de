-- Alerts sent to the operator's webhook, one row per month, kind and
-- subject (a promotion's number for champion changes, else ''): an alert
-- already sent is not sent again, one whose delivery failed is retried.
CREATE TABLE alerts (
    month         date        NOT NULL CHECK (extract(day FROM month) = 1),
    kind          text        NOT NULL CHECK (kind <> ''),
    subject       text        NOT NULL DEFAULT '',
    severity      text        NOT NULL CHECK (severity IN ('warn', 'alert')),
    message       text        NOT NULL,
    body          jsonb       NOT NULL,  -- the webhook payload, as first raised
    raised_at     timestamptz NOT NULL DEFAULT now(),
    attempts      int         NOT NULL DEFAULT 0,
    last_error    text,
    claimed_until timestamptz,           -- a sender is delivering it
    sent_at       timestamptz,
    PRIMARY KEY (month, kind, subject)
);

CREATE INDEX alerts_unsent ON alerts (raised_at) WHERE sent_at IS NULL;
