# syntax=docker/dockerfile:1
# Tenure's image: one image for the worker, the intake server and the CLI (docs/deploy.md).
#   docker build -t tenure .
#   worker (default): docker run tenure
#   intake:           docker run tenure node dist/client/intake-main.js
#   search attributes: docker run tenure node dist/client/cli.js setup
# Debian slim, not Alpine: the Temporal SDK's native core ships for glibc.
ARG NODE_VERSION=22

# --- build: every dependency, TypeScript compiled to dist/ ------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The local stand-ins under dist/dev are never started in production; removing them proves nothing needs them.
RUN npm run build && rm -rf dist/dev

# --- deps: production dependencies only (no test peers, no compiler) ---------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to node (which then drains) and reaps children.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  TENURE_POLICY=/etc/tenure/policy.yaml \
  TENURE_INTAKE_HOST=0.0.0.0 \
  TENURE_METRICS_HOST=0.0.0.0
WORKDIR /app
# Owned by root, read-only to the process: the app cannot rewrite itself.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
# The worker bundles its workflow code at start from dist/workflows (src/workers/worker.ts).
COPY --from=build /app/dist ./dist
# A default policy so the image starts; mount your own at /etc/tenure/policy.yaml.
COPY config/tenure.example.yaml /etc/tenure/policy.yaml
# The image's `node` user (uid 1000), numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# 8080: intake HTTP; 9464: Tenure's /metrics and /healthz; 9465: the Temporal SDK's Prometheus exporter.
EXPOSE 8080 9464 9465
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/workers/main.js"]
