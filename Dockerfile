# community-attribution: one image, two roles (`serve`, the default, and `worker`).
# Every piece of state lives under the /data volume: the SQLite database (unless
# COMMATTR_DATABASE_URL names PostgreSQL) and the generated credential-encryption key (unless
# COMMATTR_ENCRYPTION_KEYS is given). The application folder is owned by root and read-only for
# the non-root user the processes run as.

# The dashboard's charting library, installed from the npm registry at the version
# package-lock.json pins (the same step as `make assets`); only its built file is copied on.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    COMMATTR_HOST=0.0.0.0 \
    COMMATTR_PORT=8000 \
    COMMATTR_DATA_DIR=/data \
    COMMATTR_DATABASE_URL=sqlite:////data/commattr.db

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY --from=assets /build/node_modules/chart.js/dist/chart.umd.min.js ./app/dashboard/static/vendor/chart.umd.min.js
COPY --from=assets /build/node_modules/chart.js/LICENSE.md ./app/dashboard/static/vendor/chart.js-LICENSE.md
COPY attribution ./attribution
COPY connectors ./connectors
COPY migrations ./migrations
COPY scripts/container-entrypoint /usr/local/bin/commattr-entrypoint
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --no-create-home commattr \
    && mkdir /data \
    && chown 10001:10001 /data \
    && chmod -R a-w /srv

USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["commattr", "healthcheck"]
ENTRYPOINT ["commattr-entrypoint"]
CMD ["serve"]
