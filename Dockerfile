# community-attribution: migrations, then the API under uvicorn, as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    COMMATTR_HOST=0.0.0.0 \
    COMMATTR_PORT=8000 \
    COMMATTR_DATABASE_URL=sqlite:////data/commattr.db

RUN useradd --create-home --uid 10001 commattr && mkdir /data && chown commattr /data
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY attribution ./attribution
COPY connectors ./connectors
COPY migrations ./migrations
RUN pip install .

USER commattr
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sh", "-c", "commattr migrate && commattr serve"]
