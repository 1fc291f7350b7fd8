# One image for every Forecourt process: migrate, api, worker, beat (docker-compose.yml).
FROM python:3.11-slim

# gcc/g++: lightfm-next builds from source; curl: healthchecks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc g++ curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# torch is pinned in pyproject.toml; PyPI's Linux wheel of it is the CUDA build. For a CPU-only
# image, pass an index that serves CPU wheels: --build-arg PIP_EXTRA_INDEX_URL=...
ARG PIP_EXTRA_INDEX_URL=""
COPY pyproject.toml README.md alembic.ini ./
COPY backend ./backend
COPY models ./models
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir ".[server]"

RUN useradd --create-home --uid 1000 forecourt && mkdir -p /var/lib/forecourt \
 && chown forecourt /var/lib/forecourt
USER forecourt
ENV FORECOURT_HOME=/var/lib/forecourt
EXPOSE 8000
CMD ["forecourt", "serve", "--host", "0.0.0.0", "--port", "8000"]
