# smsbot: the bot (`smsbot serve`) in a small image.
#   docker build -t smsbot .
#   docker run -p 3000:3000 -e SMSBOT_SLACK__BOT_TOKEN=... -e SMSBOT_SLACK__APP_TOKEN=... \
#     -e SMSBOT_KPN__CLIENT_ID=... -e SMSBOT_KPN__CLIENT_SECRET=... -v smsbot-data:/data smsbot

# Build stage: compilers and pip caches stay here, only the installed packages move on.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY smsbot ./smsbot
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    # The embedded SQLite store lives on the volume; use postgresql://... for several replicas.
    SMSBOT_DATABASE_URL=sqlite:////data/smsbot.db
COPY --from=build /install /usr/local
# Never run as root: a fixed unprivileged uid that owns only its data directory.
RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home smsbot
USER smsbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Liveness through /healthz with the Python already in the image (no curl needed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
# Exec form: smsbot is PID 1 and gets SIGTERM from `docker stop`, finishing sends under way.
CMD ["smsbot", "serve", "--port", "3000"]
