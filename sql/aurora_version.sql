-- Only sent when server.sql found the function: Aurora's own version string, as JSON text.
SELECT to_json(aurora_version()::text)::text
