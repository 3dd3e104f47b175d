# One alert line from `pgvac report --format json`: the worst severity, the counts, and the code
# and object of every finding at warning or above, most severe first (the report's order).
#   jq -r -f deploy/alert.jq /var/lib/pgvac/report.json
# prints, for example:
#   pgvac WARNING: 0 critical, 5 warning on PostgreSQL 18.4 at 2026-12-01T09:29Z: BLOCK006 database shop; ...
def object: [.object | to_entries[] | select(.key != "kind") | "\(.value)"] | join(".");
"pgvac \(.summary.worst | ascii_upcase): \(.summary.critical) critical, \(.summary.warning) warning"
+ " on PostgreSQL \(.server.version | split(" ")[1]) at \(.generated_at[0:16])Z: "
+ ([.findings[] | select(.severity != "info") | "\(.code) \(.object.kind) \(object)"] | join("; "))
