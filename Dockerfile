# Multi-stage image: build the wheel and its dependencies in one stage, run as a non-root user
# in a slim second stage. Installs the package the same way `make` does (pip, pyproject.toml).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY api ./api
COPY graph ./graph
COPY models ./models
COPY training ./training
COPY store ./store
RUN python -m venv /opt/chaincredit && /opt/chaincredit/bin/pip install --upgrade pip \
    && /opt/chaincredit/bin/pip install .

FROM python:3.11-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 chaincredit
COPY --from=build /opt/chaincredit /opt/chaincredit
ENV PATH=/opt/chaincredit/bin:$PATH CHAINCREDIT_DATA_DIR=/data PYTHONUNBUFFERED=1
WORKDIR /home/chaincredit
RUN mkdir /data && chown chaincredit /data
USER chaincredit
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["chaincredit", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
