-- Point lookups by uid: the review screen fetches one record, its context and its verdicts per
-- keypress; without these each is a scan of a million-row column (~5-7 ms each).
CREATE INDEX records_uid ON records (uid);
CREATE INDEX contexts_uid ON contexts (uid);
CREATE INDEX verdicts_record_uid ON verdicts (record_uid);
