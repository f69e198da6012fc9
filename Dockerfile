# Build stage: durable-rules ships only a C source release, so wheels are built with gcc here.
# Every package is the one locked in requirements.lock, checked against its hashes.
FROM python:3.12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock ./
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.lock

# Run stage: no compiler; the locked wheels (verified in the build stage; a wheel built from a
# source release has no hash to check against), and the service's own tree in /srv (app,
# rules, migrations, alembic.ini), which is where the service looks for them.
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/srv
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --no-deps /wheels/*.whl && rm -rf /wheels \
    && printf '#!/bin/sh\nexec python -m app.cli "$@"\n' > /usr/local/bin/dispute-service \
    && chmod +x /usr/local/bin/dispute-service \
    && useradd --create-home --uid 10001 service \
    && mkdir -p /srv/var && chown service:service /srv/var
WORKDIR /srv
COPY alembic.ini pyproject.toml ./
COPY app ./app
COPY migrations ./migrations
COPY rules ./rules
USER service
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s \
  CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/ready', timeout=2)"
# Set DATABASE_URL. Without it the service starts an embedded PostgreSQL in DATA_DIR, /srv/var,
# which belongs to the service's user; its data is lost with the container unless a volume is
# mounted there (`-v dispute-data:/srv/var`; a host folder must be writable by uid 10001, or
# the service stops at once saying so). `docker stop` waits 10 s before SIGKILL: give it
# SHUTDOWN_GRACE_SECONDS + 15 (`docker stop -t 45`, `docker run --stop-timeout 45`).
CMD ["dispute-service", "serve", "--host", "0.0.0.0", "--port", "8000"]
