-- Claims, the router's "anything due?" read and NextDue ask for one direction's due lanes:
-- the router's workers are budgeted per direction, and while all inbound workers are busy it
-- claims and waits for outbound lanes only. With lanes_due (due_at) alone, each of those
-- walked every due inbound lane of a backlog to find the outbound ones: 100-200 ms a
-- statement with 55,000 due lanes, against 0.01-0.2 ms with this index (issue 16).
CREATE INDEX lanes_direction_due ON lanes (direction, due_at) WHERE due_at IS NOT NULL;
