# syntax=docker/dockerfile:1.7
# The controller image (`kubernaut-wfe run`, the default CMD); the same image serves the demo audit
# service with `kubernaut-wfe audit-server`.
#
# The base image is pinned by version AND digest so that a rebuild is reproducible. To refresh it:
#   docker buildx imagetools inspect python:3.11.13-slim-bookworm   # copy the top-level "Digest:"
# (or `crane digest python:3.11.13-slim-bookworm`) and update PYTHON_IMAGE below; both stages use it.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The runtime lock first: this layer is cached until the locked versions change.
COPY requirements/runtime.txt requirements/runtime.txt
RUN python -m venv /opt/kubernaut-wfe \
 && /opt/kubernaut-wfe/bin/pip install --require-virtualenv -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src/ src/
# The wheel adds only our package: every dependency came from the lock above (--no-deps).
RUN /opt/kubernaut-wfe/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/kubernaut-wfe/bin/pip install --no-deps /wheels/kubernaut_wfe-*.whl \
 && /opt/kubernaut-wfe/bin/pip uninstall --yes pip \
 && /opt/kubernaut-wfe/bin/kubernaut-wfe --help >/dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kubernaut-wfe" \
      org.opencontainers.image.description="WorkflowExecution controller (WFE -> Tekton PipelineRun) with an ADR-034 audit trail" \
      org.opencontainers.image.licenses="Apache-2.0"
# Read-only root filesystem: nothing may be written outside /tmp (an emptyDir in the pod), so no
# bytecode caches, and HOME points at /tmp for any library that wants a home directory.
ENV PATH=/opt/kubernaut-wfe/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
COPY --from=builder /opt/kubernaut-wfe /opt/kubernaut-wfe
# A numeric user, so that `runAsNonRoot: true` can be verified by the kubelet without /etc/passwd.
USER 65532:65532
WORKDIR /tmp
EXPOSE 9090 8081
ENTRYPOINT ["kubernaut-wfe"]
CMD ["run"]
