-- Issue 21: the time zone an action's schedule was given in (an IANA name,
-- to show it there), and a channel's posting window ("mon-fri 08:00-20:00
-- Europe/Berlin": outside it, REAL posts wait for the next opening).
ALTER TABLE aol_actions ADD COLUMN time_zone TEXT;
ALTER TABLE aol_channels ADD COLUMN posting_window TEXT;
