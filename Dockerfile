# syntax=docker/dockerfile:1
# The Slicewise image: one image for every deployable, because they share one locked set of
# wheels and one code base, and the charts pick the process by command (`python -m gateway`,
# `python -m workers ingest|spot|celery-worker|celery-beat`, `python -m agent [spot-watcher]`,
# `python -m executor`, `slicewise migrate`). One image means one build, one scan and one
# digest to promote; the agent and executor pay for server wheels they never import (disk only:
# nothing is loaded that the process does not import).
#
# `make image` (image/build.sh) assembles the same two layers on a machine without a Docker
# daemon or registry access: the base from Debian with mmdebstrap, the app layer with the same
# lock and user, written as an OCI archive. A registry build runs this file:
#
#   docker build -t slicewise:0.1.0 .     (or: buildah bud -t slicewise:0.1.0 .)

# Debian 12, pinned to a dated snapshot tag (the archive state the lock was tested on).
ARG DEBIAN_IMAGE=debian:bookworm-20250520-slim

FROM ${DEBIAN_IMAGE} AS base
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Build stage: a virtual environment holding exactly requirements/image.lock (every wheel
# hash-checked) and the project's own wheel; nothing of this stage but the venv is kept.
FROM base AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/slicewise
COPY requirements/image.lock /src/requirements/image.lock
RUN /opt/slicewise/bin/pip install --no-cache-dir --require-hashes --no-deps \
        -r /src/requirements/image.lock
COPY pyproject.toml README.md /src/
COPY protocol /src/protocol
COPY recommender /src/recommender
COPY auth /src/auth
COPY store /src/store
COPY gateway /src/gateway
COPY workers /src/workers
COPY agent /src/agent
COPY executor /src/executor
COPY devstack /src/devstack
COPY cli /src/cli
COPY bench /src/bench
COPY demo /src/demo
# hatchling comes from the lock (requirements/build.in), so the build needs no index either.
RUN /opt/slicewise/bin/pip install --no-cache-dir --no-deps --no-build-isolation --no-index /src

FROM base
# The charts run every container as uid/gid 10001 (securityContext.runAsUser/runAsGroup).
RUN groupadd --gid 10001 slicewise \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin slicewise
COPY --from=build /opt/slicewise /opt/slicewise
ENV PATH=/opt/slicewise/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
CMD ["slicewise", "--help"]
