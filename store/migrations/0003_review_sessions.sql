-- Where each reviewer left off: the last filter, sort and search of the review TUI, so that
-- reopening resumes at the first pending record of that view. UI state, not data: replaced on
-- every change.
CREATE TABLE review_sessions (
    reviewer       VARCHAR NOT NULL,
    state          JSON NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
