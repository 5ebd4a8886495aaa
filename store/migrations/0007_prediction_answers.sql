-- An imported prediction given in a structured form (the official TAT-QA `[answer, scale]`, or
-- a JSON Lines row with "scale") keeps that form here as JSON {"answer": ..., "scale": ...}, so
-- it is scored exactly as the official script would score it. NULL: the answer is text (a
-- model's reply, or a plain {uid: text} import) and is parsed when scored.
ALTER TABLE predictions ADD COLUMN answer_json VARCHAR;
