# The front-end libraries (npm registry, pinned by package-lock.json), copied into static/vendor/.
FROM node:20-bookworm-slim AS static
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build_static.sh scripts/
RUN bash scripts/build_static.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=static /app/static/vendor static/vendor
RUN DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --no-input
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
