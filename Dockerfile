# Multi-stage build: compile in the full Rust image (it ships libpq-dev and libssl-dev),
# run in a slim Debian with only the runtime libraries.
FROM rust:1-bookworm AS build
WORKDIR /app
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
RUN cargo build --release --locked --bin dti-api

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/dti dti \
    && mkdir -p /var/lib/dti/evidence && chown -R dti /var/lib/dti
WORKDIR /app
COPY --from=build /app/target/release/dti-api /usr/local/bin/dti-api
COPY seeds seeds
USER dti
ENV APP_HOST=0.0.0.0 \
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
