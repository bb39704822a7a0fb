# Refractor API + worker. Build from the repository root:
#   docker build -f docker/Dockerfile.app -t refractor-app .
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements.lock pyproject.toml ./
COPY app ./app
RUN pip wheel --no-cache-dir -r requirements.lock -w /wheels \
 && pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 1001 refractor \
 && useradd --system --uid 1001 --gid refractor --home-dir /var/lib/refractor --shell /usr/sbin/nologin refractor \
 && install -d -o refractor -g refractor -m 0750 /var/lib/refractor /var/log/refractor
COPY --from=build /wheels /wheels
RUN python -m venv /opt/refractor \
 && /opt/refractor/bin/pip install --no-cache-dir --no-index --find-links /wheels /wheels/refractor-*.whl \
 && rm -rf /wheels
ENV PATH=/opt/refractor/bin:$PATH \
    REFRACTOR_CONFIG=/etc/refractor/config.json \
    PYTHONUNBUFFERED=1
USER 1001:1001
EXPOSE 4010
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:4010/monitoring/health', timeout=5).status == 200 else 1)"]
# Bind all interfaces inside the container; the compose network keeps it private.
CMD ["refractor", "serve", "--host", "0.0.0.0", "--port", "4010"]
