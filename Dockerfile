# syntax=docker/dockerfile:1
# One image for the API and the workers; only the command differs:
#   API (default):  descent serve   (DESCENT_WORKERS=0: the API only, the workers run as their own containers)
#   worker:         descent worker
# The builder stage installs descent and its runtime dependencies (no dev extras) into a venv;
# the final stage copies that venv alone, so no pip cache, source tree or build tools ship.

FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
RUN python -m venv /opt/venv

# The dependencies first, in a layer of their own that is rebuilt only when pyproject.toml changes:
# installing the project with its packages still empty pulls in [project.dependencies] (no extras: no [dev],
# no [local]), then the empty project is removed again.
COPY pyproject.toml README.md ./
RUN mkdir trainer core service worker descent \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall --yes descent \
    && rm -rf build descent.egg-info

# Then descent itself: a wheel of the source, installed without touching the dependencies.
COPY trainer ./trainer
COPY core ./core
COPY service ./service
COPY worker ./worker
COPY descent ./descent
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/*.whl


FROM python:3.11-slim

# One BLAS thread per process: the parallelism is one job per worker process (scale the workers instead).
# MPLCONFIGDIR: the user's home (/app) is read-only, and matplotlib (the cost plots) needs a writable cache.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/opt/venv/bin:${PATH}" \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DESCENT_HOST=0.0.0.0 \
    DESCENT_PORT=8000 \
    DESCENT_WORKERS=0

RUN groupadd --system --gid 10001 descent \
    && useradd --system --uid 10001 --gid descent --home-dir /app --no-create-home --shell /usr/sbin/nologin descent

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8000

# Liveness of the API process; the compose file overrides it (/readyz for the API, a Redis check for workers).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('DESCENT_PORT', '8000') + '/healthz', timeout=4)"]

CMD ["descent", "serve"]
