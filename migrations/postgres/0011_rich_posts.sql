-- Issue 19: posts as people publish them (links, images, link cards, threads).

-- Files AOL holds, named by the SHA-256 of their bytes: media uploaded for
-- posts (and, later, PROOF artifacts). A file is stored once however often it
-- is used, and an approval of a request that names it covers its bytes.
-- width/height: an image's size in pixels (Bluesky's aspectRatio).
CREATE TABLE aol_blobs (
    sha256          TEXT        PRIMARY KEY,
    size            BIGINT      NOT NULL CHECK (size >= 0),
    mime            TEXT        NOT NULL,
    width           BIGINT,
    height          BIGINT,
    bytes           BYTEA       NOT NULL,
    created_at_utc  TIMESTAMPTZ NOT NULL
);
CREATE INDEX aol_blobs_created_idx ON aol_blobs (created_at_utc);

-- The media each action's payload names: a file is kept while an action
-- refers to it (it cannot be deleted before), and goes once none does.
CREATE TABLE aol_action_media (
    action_id  BIGINT NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    sha256     TEXT   NOT NULL REFERENCES aol_blobs (sha256),
    PRIMARY KEY (action_id, sha256)
);
CREATE INDEX aol_action_media_sha_idx ON aol_action_media (sha256);

-- What was looked up once to build an action's request and is kept with it,
-- so that its bytes never change afterwards (Bluesky: mentioned handles and
-- their DIDs). Cleared when the payload is edited.
ALTER TABLE aol_actions ADD COLUMN facts_json TEXT;
-- When a REAL request of the action first left (set by the send gate, kept
-- across attempts): from then on its payload can no longer be edited, since
-- the platform may already hold the post it asked for.
ALTER TABLE aol_actions ADD COLUMN first_sent_at_utc TIMESTAMPTZ;
-- When a REAL request of the action first may have reached its platform,
-- kept across attempts: a platform that keeps an Idempotency-Key for a
-- while (Mastodon: an hour) is sent a repeat only within that time.
ALTER TABLE aol_actions ADD COLUMN reached_at_utc TIMESTAMPTZ;

-- Per channel: whether every image needs alt text (on unless turned off),
-- and the platform's limits as its server states them (Mastodon's
-- /api/v2/instance, read when the channel is added; NULL: the platform's
-- usual ones).
ALTER TABLE aol_channels ADD COLUMN require_alt BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE aol_channels ADD COLUMN max_characters BIGINT CHECK (max_characters > 0);
ALTER TABLE aol_channels ADD COLUMN chars_per_url BIGINT CHECK (chars_per_url >= 0);
ALTER TABLE aol_channels ADD COLUMN max_media BIGINT CHECK (max_media > 0);
ALTER TABLE aol_channels ADD COLUMN max_image_bytes BIGINT CHECK (max_image_bytes > 0);

-- A channel's history also records the alt-text setting.
ALTER TABLE aol_channel_changes DROP CONSTRAINT aol_channel_changes_change_check;
ALTER TABLE aol_channel_changes ADD CONSTRAINT aol_channel_changes_change_check
    CHECK (change IN ('added', 'removed', 'armed', 'disarmed', 'limits', 'alt_required', 'alt_optional'));
