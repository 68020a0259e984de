# Ingot production image: the API under gunicorn (default command) or an
# engine worker (`ingot worker`), configured only by INGOT_* environment
# variables. See docs/production.md and deploy/compose.yaml.
#
#   docker build -t ingot .
#   docker run -e INGOT_DATABASE_URL=... -e INGOT_SECRET_KEY=... -p 8080:8080 ingot
#   docker run -e INGOT_DATABASE_URL=... -e INGOT_SECRET_KEY=... ingot ingot worker

# --- build: the ingot wheel, installed into a virtualenv ------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv && python -m pip install 'build>=1.2'
WORKDIR /src
# dependencies first (as pyproject.toml lists them), so that code changes do not reinstall them
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > requirements.txt \
    && /opt/venv/bin/pip install -r requirements.txt
# the wheel carries the code and, copied in by setup.py, migrations/ and provider-schema/
COPY setup.py MANIFEST.in README.md ./
COPY api/ api/
COPY migrations/ migrations/
COPY provider-schema/ provider-schema/
RUN python -m build --wheel --outdir /dist . \
    && /opt/venv/bin/pip install "$(ls /dist/ingot-*.whl)[postgres]" \
    && /opt/venv/bin/pip check
# from the checkout the image needs only the gunicorn configuration; the code runs from the venv
WORKDIR /app
COPY deploy/ deploy/

# --- the web console: built by Vite from web/ (npm ci: the versions of package-lock.json) ---
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- runtime ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 ingot \
    && useradd --system --uid 10001 --gid ingot --home-dir /var/lib/ingot --shell /usr/sbin/nologin ingot \
    && mkdir -p /var/lib/ingot && chown ingot:ingot /var/lib/ingot
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY --from=web /src/api/web/dist /app/api/web/dist
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    INGOT_PRODUCTION=1 \
    INGOT_LOG_JSON=1 \
    INGOT_DATA_DIR=/var/lib/ingot \
    INGOT_BIND=0.0.0.0:8080
WORKDIR /app
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# process up (readiness, i.e. database + migrations, is /readyz: use it in the load balancer)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "api.wsgi:app"]
