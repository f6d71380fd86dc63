-- Hosts that delete conversations (erasure requests) cascade into the close
-- records; without this index each deletion scans them all.
CREATE INDEX support_closures_by_conversation ON support_closures (conversation_id);
