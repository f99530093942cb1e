# Two images from this file:
#   docker build .                 production (the last stage, the default): the product alone, no demo app
#   docker build --target demo .   the product and the demo app (demo/: the demo day, the simulator, the fake
#                                  Twilio), run with config.settings.local; what docker-compose.yml builds

# The front-end libraries (npm registry, pinned by package-lock.json), copied into static/vendor/.
FROM node:20-bookworm-slim AS static
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build_static.sh scripts/
RUN bash scripts/build_static.sh

# The source without the demo app: only this stage's result reaches the images, never its layers.
FROM python:3.11-slim AS source
WORKDIR /app
COPY . .
RUN rm -rf demo

FROM python:3.11-slim AS product
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=source /app .
COPY --from=static /app/static/vendor static/vendor
# The settings every environment shares: they install no demo app and need no secrets.
RUN DJANGO_SETTINGS_MODULE=config.settings.base python manage.py collectstatic --no-input
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

# docker compose: the product with the demo app (seed_demo, simulate_day, the fake Twilio).
FROM product AS demo
COPY demo demo

# Production: the product alone. Its settings want every secret from the environment.
FROM product AS production
ENV DJANGO_SETTINGS_MODULE=config.settings.production
