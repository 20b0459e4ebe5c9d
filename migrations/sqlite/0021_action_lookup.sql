-- PostgreSQL's 0021 moves the indexes of an action's type and who enqueued
-- it into a table of their own, because an update it cannot make HOT writes
-- into every index of the row. SQLite's update writes only the indexes of
-- the columns it changes: nothing changes here.
SELECT 1;
