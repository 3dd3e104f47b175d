# pgvac in a container, for machines without local PostgreSQL binaries or Rust.
#   docker build -t pgvac .
#   docker run --rm pgvac report 'host=db.internal user=pgvac dbname=postgres'
# docker-compose.yml builds this image and runs `pgvac demo --server` against a seeded server.

# Build: the MSRV toolchain (Cargo.toml rust-version), the locked dependencies.
FROM rust:1.94-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY sql ./sql
RUN cargo build --release --locked && strip target/release/pgvac

# Run: glibc and CA certificates only (sqlx uses rustls), as an unprivileged user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/pgvac /usr/local/bin/pgvac
# 65532 is distroless's nonroot; numeric, so Kubernetes can check runAsNonRoot.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/pgvac"]
CMD ["--help"]
