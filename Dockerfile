# syntax=docker/dockerfile:1
#
# The Seduta server image: `seduta serve` (web client, signaling and SFU in one
# process). Build: `docker build -t seduta:0.1.0 .`; run and deploy: docs/deployment.md.
#
# Base images are pinned by tag. For a production build pin them by digest as well
# (`FROM rust:1.95-bookworm@sha256:…`), so that a rebuild cannot pick up a different
# image under the same tag.

# ---- build -----------------------------------------------------------------------
FROM rust:1.95-bookworm AS build

# cmake and pkg-config: C parts of dependencies (aws-lc, the Opus library that the
# recordings crate builds from source). The GStreamer headers: the recordings crate
# (gstreamer-rs), which the server links for recording (issue 4).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        cmake \
        pkg-config \
        libgstreamer1.0-dev \
        libgstreamer-plugins-base1.0-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The web client (web/) is embedded into the binary by rust-embed in release builds,
# so the runtime image needs no copy of it. Cache mounts keep the crate registry and
# the target directory between builds; the binary is copied out of the cache.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p seduta --bin seduta \
    && install -D -m 0755 target/release/seduta /out/seduta

# ---- runtime ---------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# GStreamer plugins and ffmpeg: the recording pipeline and the preservation rendition
# (docs/recording.md). ca-certificates: outgoing HTTPS (delivery to the preservation
# pipeline). curl: the HEALTHCHECK below.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates \
        curl \
        ffmpeg \
        gstreamer1.0-plugins-base \
        gstreamer1.0-plugins-good \
        gstreamer1.0-plugins-bad \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged UID/GID (10001) that the Kubernetes manifests name too
# (runAsUser, fsGroup). The home directory is the data directory, so anything that
# writes under $HOME writes to the data volume.
RUN groupadd --system --gid 10001 seduta \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/seduta \
        --no-create-home --shell /usr/sbin/nologin seduta \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/seduta \
    && install -d -m 0755 /etc/seduta

COPY --from=build /out/seduta /usr/local/bin/seduta

# Every write goes under /var/lib/seduta (the data volume): the SQLite database, the
# generated token secret. The root filesystem can be mounted read-only; mount a tmpfs
# on /tmp as well (docs/deployment.md). The listeners are set here rather than in a
# configuration file: environment variables win over the file (flags win over both).
ENV HOME=/var/lib/seduta \
    SEDUTA_DATA_DIR=/var/lib/seduta \
    SEDUTA_HTTP_BIND=0.0.0.0:8443 \
    SEDUTA_UDP_BIND=0.0.0.0:50000 \
    SEDUTA_TCP_BIND=0.0.0.0:50001 \
    SEDUTA_LOG_JSON=true \
    GST_REGISTRY=/tmp/gstreamer-registry.bin

WORKDIR /var/lib/seduta
VOLUME ["/var/lib/seduta"]

# 8443: HTTPS and WSS (plain HTTP when no certificate is configured, e.g. behind a
# TLS-terminating ingress). 50000/udp: WebRTC media of every peer. 50001/tcp: ICE-TCP,
# the media fallback for networks that block UDP.
EXPOSE 8443/tcp 50000/udp 50001/tcp

USER 10001:10001

# /healthz on the container's own listener: plain HTTP first, then HTTPS when a
# certificate is configured. The HTTPS probe skips certificate verification (-k): it
# talks to this very process over loopback, where the certificate's name (the public
# host name) cannot match 127.0.0.1, and it only reads the status code.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "-c", "port=${SEDUTA_HTTP_BIND##*:}; curl -fsS -o /dev/null --max-time 4 http://127.0.0.1:$port/healthz || curl -fsSk -o /dev/null --max-time 4 https://127.0.0.1:$port/healthz"]

# The server stops cleanly on SIGINT (it handles Ctrl-C); `docker stop` and
# Kubernetes send this signal instead of SIGTERM.
STOPSIGNAL SIGINT

ENTRYPOINT ["/usr/local/bin/seduta"]
CMD ["serve", "--no-demo"]
