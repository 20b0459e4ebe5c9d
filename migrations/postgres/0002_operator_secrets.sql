-- Hashes of operator secrets (never the secrets themselves), e.g. the operator
-- token generated at first start when AOL_OPERATOR_TOKEN is not set.
CREATE TABLE aol_secrets (
    name            TEXT        PRIMARY KEY,
    sha256          TEXT        NOT NULL,
    created_at_utc  TIMESTAMPTZ NOT NULL
);
