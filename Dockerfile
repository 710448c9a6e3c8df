# The llm-sidecar image: a release build on Swift's official Debian 12 image, run on
# debian:bookworm-slim with libcurl and libyaml as the only additions. Base images are named in full
# (docker.io/library/...): podman and buildah refuse short names without a registry alias.
#   docker build -t llm-sidecar .
# The shipped sidecar.yaml listens on 127.0.0.1:8080, as a sidecar should (a non-loopback address
# is refused unless client tokens are configured, clients:), so the application shares the
# sidecar's network namespace, as in a Kubernetes pod; probes go to the metrics listener:
#   docker run -d --name llm-sidecar -e SIDECAR_METRICS_LISTEN=0.0.0.0:9464 \
#       -p 127.0.0.1:9464:9464 -e DEEPSEEK_API_KEY llm-sidecar
#   curl http://127.0.0.1:9464/readyz
#   docker run --rm --network container:llm-sidecar docker.io/curlimages/curl:8.11.1 \
#       -s http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \
#       -d '{"model":"demo","messages":[{"role":"user","content":"Hello"}]}'
# On a Linux laptop, `docker run --rm --network host llm-sidecar` serves 127.0.0.1:8080 directly.
# deploy/docker-compose.yml and k8s/ mount their own configuration over /etc/llm-sidecar.
#
# From a binary built outside (scripts/check-deploy.sh does this with buildah, offline): a context
# directory holding llm-sidecar (swift build -c release --static-swift-stdlib) and sidecar.yaml,
#   docker build --target local -t llm-sidecar -f Dockerfile CONTEXT
#
# Size: 129 MB uncompressed as scripts/check-image.sh builds it (buildah, a debootstrapped and
# slimmed bookworm minbase of 77.9 MB); estimated for Docker Hub's base, 44 MB to pull:
#   debian:bookworm-slim                          about 75 MB (28 MB compressed)
#   libcurl4, libyaml-0-2, ca-certificates and
#   the 15 packages apt adds with them to a
#   bookworm base                                 14.1 MB, the sum of their Installed-Size
#                                                 (libssl3 6.0, openssl 2.3, Kerberos 1.9, ...)
#   llm-sidecar, Swift runtime linked in, debug
#   info stripped, symbols kept for profiles      35.7 MB (10.3 MB compressed)

# The runtime, without the binary: the stages `local` and the default one add it.
FROM docker.io/library/debian:bookworm-slim AS runtime
# What the binary links beyond the C and C++ runtimes already in the base (ldd): libcurl, which
# brings nghttp2 (HTTP/2) and OpenSSL (libcrypto and libssl are also used directly: hashes, and
# TLS to the fleet store); libyaml, which parses the configuration; and the CA certificates that
# verify the providers (and a store over rediss:// without store.ca_file).
# Packages are not pinned (DL3008): bookworm's versions only move for security fixes, and a pin
# breaks the build as soon as the archive drops the pinned version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 libyaml-0-2 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
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

# The runtime with a binary from the build context (see the header). Before the `build` stage, so
# that `--target local` never reaches it: it needs Docker Hub and GitHub.
FROM runtime AS local
COPY llm-sidecar /usr/local/bin/llm-sidecar

FROM docker.io/library/swift:6.3-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4-openssl-dev libnghttp2-dev libssl-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change to the sources reuses this layer. Package.swift names each
# dependency, transitive ones included, at an exact version (a test in Tests/deploy checks it), so
# the image is built from exactly the dependencies the tests ran against.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product llm-sidecar \
    && strip --strip-debug .build/release/llm-sidecar \
    && install -D -m 0755 .build/release/llm-sidecar /out/llm-sidecar

# The default target: the runtime with the binary built above.
FROM runtime
COPY --from=build /out/llm-sidecar /usr/local/bin/llm-sidecar
