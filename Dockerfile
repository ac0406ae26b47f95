# syntax=docker/dockerfile:1
# The usage gateway: compiled in one stage, run from a slim image with
# production dependencies only, as the unprivileged `node` user.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY providers ./providers
COPY plugins ./plugins
COPY routes ./routes
COPY app ./app
COPY scripts ./scripts
COPY explorer ./explorer
RUN npx tsc -p tsconfig.json && node dist/explorer/build.js

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Owned by root and only readable by `node`: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# The slim image has no curl; Node's own fetch checks liveness.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node as PID 1 receives SIGTERM directly; close-with-grace finishes in-flight requests.
# A young generation of 4 MiB, not 16 (resident memory settles near the cache bound), nor shrunk while idle (a load
# after a quiet spell met a small one: p99 latency doubled): bench/NOTES.md; as with npm start.
CMD ["node", "--max-semi-space-size=4", "--min-semi-space-size=4", "dist/app/server.js"]
