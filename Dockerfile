# syntax=docker/dockerfile:1
# tyk-portal-operator image: build wheels in one stage, install them into a virtualenv, and copy only
# that virtualenv into a fresh slim Python image (no compilers, no pip cache, no sources).
#
#   docker build -t tyk-portal-operator:0.1.0 .
#
# PYTHON_IMAGE lets offline builds point at a locally imported base (see docs/install.md).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Optional, for builds behind a private index or a TLS-intercepting proxy (docs/install.md).
ARG PIP_INDEX=""
ARG PIP_CA_BUNDLE=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Exact dependency versions (and the build backend's), so two builds of one commit are the same.
COPY constraints.txt pyproject.toml README.md ./
ENV PIP_CONSTRAINT=/src/constraints.txt
COPY operator/ operator/
COPY crds/ crds/
# Every dependency ships binary wheels, so this stage needs no compiler either. The `portal` extra
# (the Live Portal: `kubectl portal ui` and the chart's portal.enabled) is part of the image.
# python3 (not python): also works on a plain Debian base imported for offline builds.
# The index and CA bundle go through the environment so that pip's isolated build-backend install
# (hatchling) uses them too; command-line flags would not reach that subprocess.
RUN if [ -n "$PIP_INDEX" ]; then export PIP_INDEX_URL="$PIP_INDEX"; fi \
    && if [ -n "$PIP_CA_BUNDLE" ]; then export PIP_CERT="$PIP_CA_BUNDLE"; fi \
    && python3 -m pip wheel --wheel-dir /wheels '.[portal]' \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /wheels "$(ls /wheels/tyk_portal_operator-*.whl)[portal]" \
    && /opt/venv/bin/tyk-portal-operator version

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="tyk-portal-operator" \
      org.opencontainers.image.description="Kubernetes operator for an API developer portal on Tyk" \
      org.opencontainers.image.licenses="Apache-2.0"
# A named account (kopf reads the user name for its peering identity) with a fixed numeric UID/GID,
# so Kubernetes can verify runAsNonRoot.
RUN groupadd --system --gid 10001 portal \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /nonexistent \
       --no-create-home --shell /usr/sbin/nologin portal
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
# 8080: kopf health endpoint (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["tyk-portal-operator"]
CMD ["run"]
