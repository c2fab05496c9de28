# Duban (督办) — one image for every process of the platform.
#
#   web          (default CMD) gunicorn duban.wsgi on port 8000
#   worker       celery -A duban.celery worker --loglevel INFO --concurrency 2
#   beat         duban beat                      exactly one at a time (it holds a lock); see docs/operations.md
#   migrations   duban migrate_schemas --noinput  before a new version serves (the Helm chart's hook Job)
#   one-off      duban check --deploy · duban county backup SLUG - > FILE · duban shell …
#
# Configuration comes from the environment only (README, "## Configuration"); the production
# profile needs SECRET_KEY (≥ 50 characters), DATABASE_URL, CELERY_BROKER_URL and
# DUBAN_BASE_DOMAIN — or NAME_FILE pointing at a mounted secret.
#
# The root filesystem can be read-only. At run time the image writes only to
#   /var/lib/duban   DUBAN_DATA_DIR: uploaded attachments and issued documents (media/) — a volume,
#                    shared by web and worker pods (ReadWriteMany) and writable by uid 10001;
#   /tmp             temporary files (uploads in progress, backups, beat's schedule file) — an emptyDir.
# Static files are collected at build time (/srv/duban/static, served by WhiteNoise); the
# compiled message catalogues and the Python bytecode are built into the image too.
#
# Build: docker build -t duban:VERSION .   (PG_CLIENT_MAJOR=16|17 for a newer pg_dump; see below)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- front-end libraries: the vendor files of `make static` ---------------------------------------
FROM ${NODE_IMAGE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
# Exact versions from package-lock.json; the runtime dependencies (htmx, ECharts) only.
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js vendor/htmx.min.js \
 && cp node_modules/echarts/dist/echarts.min.js vendor/echarts.min.js

# --- Python: the hashed lock and the project, into a virtual environment -------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# gettext: msgfmt, for compilemessages. Debian packages are not pinned: the base image's release
# (bookworm) fixes their versions, and security updates must come in on rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
# Every distribution pinned and hashed (requirements/runtime.txt: lock.txt's versions without the
# dev extra, plus setuptools and wheel to build the project; `make lock`); nothing else resolved.
RUN python3.11 -m venv /opt/duban \
 && /opt/duban/bin/pip install --quiet --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY platform platform
COPY tenants tenants
COPY api api
COPY plugins plugins
COPY --from=assets /src/vendor/ platform/duban/web/static/vendor/
# The .mo catalogues (gitignored; `make static` builds them the same way, from platform/duban)…
WORKDIR /src/platform/duban
RUN env -u DJANGO_SETTINGS_MODULE /opt/duban/bin/django-admin compilemessages --verbosity 0
# …then the project itself: a regular install, package data (templates, static incl. vendor/,
# locale incl. .mo) included; built with the locked setuptools, without downloading anything.
WORKDIR /src
RUN /opt/duban/bin/pip install --quiet --no-deps --no-build-isolation . \
 && test -f /opt/duban/lib/python3.11/site-packages/duban/web/static/vendor/htmx.min.js \
 && test -f /opt/duban/lib/python3.11/site-packages/duban/locale/en/LC_MESSAGES/django.mo

# --- the runtime image --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# pg_dump/pg_restore/psql must be at least the server's major version. Debian bookworm ships 15;
# PG_CLIENT_MAJOR=16 (or 17…) installs that client from the PostgreSQL project's apt repository
# (apt.postgresql.org, set up by postgresql-common's own script and signing key).
ARG PG_CLIENT_MAJOR=
# WeasyPrint (official documents, PDFs): Pango with its FreeType/fontconfig back end and HarfBuzz's
# subsetter (which subsets the CJK fonts in a fraction of a second); fonts-noto-cjk for Chinese.
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        ca-certificates tzdata fontconfig fonts-noto-cjk \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; \
    if [ -n "${PG_CLIENT_MAJOR}" ]; then \
        apt-get install -y --no-install-recommends postgresql-common; \
        /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
        apt-get install -y --no-install-recommends "postgresql-client-${PG_CLIENT_MAJOR}"; \
    else \
        apt-get install -y --no-install-recommends postgresql-client; \
    fi; \
    rm -rf /var/lib/apt/lists/*; \
    fc-cache -f; \
    groupadd --gid 10001 duban; \
    useradd --uid 10001 --gid 10001 --home-dir /home/duban --create-home --shell /usr/sbin/nologin duban; \
    mkdir -p /var/lib/duban/media; \
    chown -R 10001:10001 /var/lib/duban

COPY --from=build /opt/duban /opt/duban

ENV PATH=/opt/duban/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=duban.settings.production \
    DUBAN_ENV=production \
    DUBAN_DATA_DIR=/var/lib/duban \
    DUBAN_STATIC_ROOT=/srv/duban/static \
    DUBAN_FONT_DIR=/srv/duban/fonts \
    XDG_CACHE_HOME=/tmp/.cache

# Static files, compressed for WhiteNoise, at build time. The production settings refuse to load
# without these three variables; the values below are dummies that exist for this command only
# (nothing connects to them) and are not kept in the image.
RUN SECRET_KEY=build-time-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    DATABASE_URL=postgresql://build@127.0.0.1:1/build \
    CELERY_BROKER_URL=redis://127.0.0.1:1/0 \
    duban collectstatic --noinput --verbosity 0 \
 && test -f /srv/duban/static/vendor/htmx.min.js \
 && SECRET_KEY=build-time-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    DATABASE_URL=postgresql://build@127.0.0.1:1/build \
    CELERY_BROKER_URL=redis://127.0.0.1:1/0 \
    duban documents fonts

# Relative paths (a backup file, `celery beat`'s default schedule file) land in /tmp, not in a
# read-only root.
WORKDIR /tmp
VOLUME ["/var/lib/duban"]
USER 10001:10001
EXPOSE 8000

# No HEALTHCHECK: the same image runs workers and beat, which serve no HTTP. Kubernetes probes
# /healthz (liveness) and /readyz (readiness) on the web pods (see helm/duban).
#
# Web: 2 workers × 4 threads (GUNICORN_CMD_ARGS adds or overrides options, e.g. "--workers 4");
# each thread may hold one PostgreSQL connection (DATABASE_CONN_MAX_AGE). Gunicorn's control
# socket would live under $HOME, which is read-only: off.
CMD ["gunicorn", "duban.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", "--log-level", "warning", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
