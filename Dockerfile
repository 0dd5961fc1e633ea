# Multi-stage build: compile in the full Rust image (it ships libpq-dev and libssl-dev),
# run in a slim Debian with only the runtime libraries.
#
# The dependencies (about 330 crates) are built in a layer of their own from the manifests
# alone, so a change to the sources rebuilds only this crate. `.ci/run` checks that the files
# copied here are enough to build (scripts/check_docker_context.py).
FROM rust:1-bookworm AS build
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
# Stand-ins for every target the manifest declares (lib, bin, bench), to build dependencies.
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/national.rs \
    && cargo build --release --locked --bin dti-api \
    && rm -rf src benches
COPY build.rs ./
COPY src src
COPY benches benches
COPY migrations migrations
# The real sources may be older than the stand-ins' build: touch them so cargo rebuilds.
RUN touch build.rs src/main.rs src/lib.rs benches/national.rs \
    && cargo build --release --locked --bin dti-api

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/dti dti \
    && mkdir -p /var/lib/dti/evidence && chown -R dti /var/lib/dti && chmod 0700 /var/lib/dti
WORKDIR /app
COPY --from=build /app/target/release/dti-api /usr/local/bin/dti-api
COPY seeds seeds
USER dti
# Production by default: DATABASE_URL and JWT_SECRET must be given (the service refuses to
# start otherwise); docker-compose.demo.yml turns on the demo.
ENV APP_MODE=production \
    APP_HOST=0.0.0.0 \
    APP_PORT=8080 \
    DATA_DIR=/var/lib/dti \
    EVIDENCE_DIR=/var/lib/dti/evidence \
    RUST_LOG=info
VOLUME ["/var/lib/dti"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dti-api"]
CMD ["serve"]
