-- The cluster's identity: pg_control's system identifier, new at every initdb and shared with the
-- cluster's physical standbys. Text, as JSON numbers lose precision past 2^53 in many readers.
-- pg_control_system() is executable by every role on 12-18; a failure is only a warning.
SELECT to_json(system_identifier::text)::text FROM pg_control_system()
