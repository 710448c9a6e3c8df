# The llm-sidecar image: a release build on Swift's official Debian 12 image, run on
# debian:bookworm-slim with libcurl as the only addition.
#   docker build -t llm-sidecar .
#   docker run --rm -e SIDECAR_LISTEN=0.0.0.0:8080 -p 127.0.0.1:8080:8080 llm-sidecar
#
# Size, estimated without a container engine: about 125 MB uncompressed, 44 MB to pull.
#   debian:bookworm-slim                          about 75 MB (28 MB compressed)
#   libcurl4, ca-certificates and the 15 packages
#   apt adds with them to a bookworm base         13.9 MB, the sum of their Installed-Size
#                                                 (libssl3 6.0, openssl 2.3, Kerberos 1.9, ...)
#   llm-sidecar, Swift runtime linked in, debug
#   info stripped, symbols kept for profiles      35.7 MB (10.3 MB compressed)

FROM swift:6.3-bookworm AS build
# Packages are not pinned (DL3008): bookworm's versions only move for security fixes, and a pin
# breaks the build as soon as the archive drops the pinned version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4-openssl-dev libnghttp2-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change to the sources reuses this layer.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product llm-sidecar \
    && strip --strip-debug .build/release/llm-sidecar \
    && install -D -m 0755 .build/release/llm-sidecar /out/llm-sidecar

FROM debian:bookworm-slim
# What the binary links beyond the C and C++ runtimes already in the base (ldd): libcurl, which
# brings nghttp2 (HTTP/2) and OpenSSL (libcrypto is also used directly); and the CA certificates
# that verify the providers.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/llm-sidecar /usr/local/bin/llm-sidecar
# The documented default configuration: the demo model works at once. It listens on
# ${SIDECAR_LISTEN:-127.0.0.1:8080}; Kubernetes and compose mount their own over /etc/llm-sidecar.
COPY sidecar.yaml /etc/llm-sidecar/sidecar.yaml
# A numeric user, so that Kubernetes can verify runAsNonRoot; 65532 as in distroless images.
USER 65532:65532
EXPOSE 8080 9464
# For docker and compose (Kubernetes ignores it and uses its probes): GET /healthz with bash alone,
# the image has no HTTP client.
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && grep -q '\"ok\"' <&3"]
ENTRYPOINT ["llm-sidecar"]
CMD ["serve", "--config", "/etc/llm-sidecar/sidecar.yaml"]
