# The berth image for running sweeps as Kubernetes Jobs (docs/sweeps.md): the one executable and
# the bundled datasets on a slim base. Nothing else in Berth needs it.
#
#   docker build -t registry.example/berth:0.10 .
#   docker run --rm registry.example/berth:0.10 sweep run \
#     /usr/share/berth/datasets/sweeps/openb-like-grid.yaml --out /tmp/grid
#
# Build arguments: SWIFT_IMAGE (the toolchain image), TARGET_CPU (an LLVM CPU name for the
# scheduling kernels, e.g. x86-64-v3 or znver4; the default builds for any x86-64), BERTH_COMMIT
# (recorded in sweep manifests when the build context has no .git).

ARG SWIFT_IMAGE=swift:6.3-noble

FROM ${SWIFT_IMAGE} AS build
ARG TARGET_CPU=
ARG BERTH_COMMIT=
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc-dev git \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN if [ -n "${BERTH_COMMIT}" ]; then printf '%s\n' "${BERTH_COMMIT}" > .berth-commit; fi \
  && BERTH_TARGET_CPU="${TARGET_CPU}" swift build -c release --static-swift-stdlib --product berth \
  && install -D -m 0755 "$(swift build -c release --show-bin-path)/berth" /out/usr/local/bin/berth \
  && mkdir -p /out/usr/share/berth && cp -r datasets /out/usr/share/berth/datasets

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 libstdc++6 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
RUN useradd --uid 10001 --no-create-home berth
USER 10001
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/berth"]
CMD ["--help"]
