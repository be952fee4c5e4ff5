# The bot in a container: python -m bot after the migrations, as an unprivileged user.
# Build: docker build -t reseller-bot .   (see README, "Containers")
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin bot

# The project's files only (.dockerignore keeps .env, .venv, data and tests out).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY jobs ./jobs
COPY models ./models
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/data /app/backups \
    && chown bot:bot /app/data /app/backups

USER bot

# SQLite in the data volume unless DATABASE_URL says otherwise; the probes on 9090.
ENV DATABASE_URL=sqlite+aiosqlite:////app/data/bot.db \
    HEALTH_PORT=9090 \
    HEALTH_LISTEN=0.0.0.0
VOLUME ["/app/data"]
EXPOSE 8443 9090

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HEALTH_PORT', '9090'), timeout=4)"]

# Migrate first (one clear error if the database is unreachable), then run the bot.
CMD ["sh", "-c", "python -m bot db upgrade && exec python -m bot"]
