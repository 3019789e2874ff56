# syntax=docker/dockerfile:1
# One image for the worker, the API and the sandbox; the command picks the process, with the same
# entry points as the npm scripts (`npm run worker|api|sandbox`).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; the Node binary package is for dev machines (the image has Node 24).
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# jemalloc for every process: glibc's malloc kept 150 MB more in the worker under load, fragmented
# and never returned (worker/node-flags.ts has the measurements).
RUN apt-get update && apt-get install -y --no-install-recommends libjemalloc2 \
    && rm -rf /var/lib/apt/lists/*
# No Microsoft setting is baked in: the processes fail closed (docs/configuration.md), so a
# container without its settings exits at start (78) naming the first missing one; NIU_SANDBOX=true
# points it at a sandbox instead (docker-compose.yml's `sandbox` profile).
ENV NODE_ENV=production \
    DATA_DIR=/data \
    API_HOST=0.0.0.0 \
    LD_PRELOAD=libjemalloc.so.2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY config ./config
COPY cli ./cli
COPY api ./api
COPY sandbox ./sandbox
# The preflight checks, run where the worker runs: docker compose exec worker npm run doctor
COPY scripts/doctor.ts ./scripts/doctor.ts
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 9464 4443
# The API's readiness; the worker and sandbox services override it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "run", "api"]
