-- Dashboard: filter the queue by action type, newest first.
CREATE INDEX aol_actions_type_idx ON aol_actions (action_type, id);
