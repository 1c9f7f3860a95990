-- lanes_direction_due (direction, due_at), over the same due lanes, serves every query
-- lanes_due served: a claim, the "anything due?" read and NextDue of one direction search it,
-- and NextDue of both directions scans it as it scanned lanes_due. Each lane made due and
-- idled again, twice per message at a steady rate, no longer updates a second index
-- (issue 16).
DROP INDEX IF EXISTS lanes_due;
