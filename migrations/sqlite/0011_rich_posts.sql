-- Issue 19: posts as people publish them (links, images, link cards, threads).

-- Files AOL holds, named by the SHA-256 of their bytes: media uploaded for
-- posts (and, later, PROOF artifacts). A file is stored once however often it
-- is used, and an approval of a request that names it covers its bytes.
-- width/height: an image's size in pixels (Bluesky's aspectRatio).
CREATE TABLE aol_blobs (
    sha256          TEXT    PRIMARY KEY,
    size            INTEGER NOT NULL CHECK (size >= 0),
    mime            TEXT    NOT NULL,
    width           INTEGER,
    height          INTEGER,
    bytes           BLOB    NOT NULL,
    created_at_utc  TEXT    NOT NULL
);
CREATE INDEX aol_blobs_created_idx ON aol_blobs (created_at_utc);

-- The media each action's payload names: a file is kept while an action
-- refers to it (it cannot be deleted before), and goes once none does.
CREATE TABLE aol_action_media (
    action_id  INTEGER NOT NULL REFERENCES aol_actions (id) ON DELETE CASCADE,
    sha256     TEXT    NOT NULL REFERENCES aol_blobs (sha256),
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
ALTER TABLE aol_actions ADD COLUMN first_sent_at_utc TEXT;
-- When a REAL request of the action first may have reached its platform,
-- kept across attempts: a platform that keeps an Idempotency-Key for a
-- while (Mastodon: an hour) is sent a repeat only within that time.
ALTER TABLE aol_actions ADD COLUMN reached_at_utc TEXT;

-- Per channel: whether every image needs alt text (on unless turned off),
-- and the platform's limits as its server states them (Mastodon's
-- /api/v2/instance, read when the channel is added; NULL: the platform's
-- usual ones).
ALTER TABLE aol_channels ADD COLUMN require_alt INTEGER NOT NULL DEFAULT 1 CHECK (require_alt IN (0, 1));
ALTER TABLE aol_channels ADD COLUMN max_characters INTEGER CHECK (max_characters > 0);
ALTER TABLE aol_channels ADD COLUMN chars_per_url INTEGER CHECK (chars_per_url >= 0);
ALTER TABLE aol_channels ADD COLUMN max_media INTEGER CHECK (max_media > 0);
ALTER TABLE aol_channels ADD COLUMN max_image_bytes INTEGER CHECK (max_image_bytes > 0);

-- A channel's history also records the alt-text setting (SQLite changes a
-- CHECK by copying the table).
CREATE TABLE aol_channel_changes_next (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    changed_at_utc  TEXT    NOT NULL,
    changed_by      TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    change          TEXT    NOT NULL
        CHECK (change IN ('added', 'removed', 'armed', 'disarmed', 'limits', 'alt_required', 'alt_optional')),
    reason          TEXT
);
INSERT INTO aol_channel_changes_next (id, changed_at_utc, changed_by, channel, change, reason)
SELECT id, changed_at_utc, changed_by, channel, change, reason FROM aol_channel_changes;
DROP TABLE aol_channel_changes;
ALTER TABLE aol_channel_changes_next RENAME TO aol_channel_changes;
