# syntax=docker/dockerfile:1
# One image for every service. The service is chosen by the command (ENTRYPOINT is `node`):
#   docker build -t shop-supergraph .
#   docker run shop-supergraph                                   # the router (the default CMD)
#   docker run shop-supergraph subgraphs/products/dist/index.js  # a subgraph
# What the final stage holds is the output of scripts/image-contents.mjs, which CI runs and checks
# (`npm run image:check`); no container engine runs in CI, so this file itself is not built there.

ARG NODE_VERSION=20.20

# Build: every dependency, then the production build and the image's /app.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
ENV CI=true
COPY . .
RUN npm ci --no-audit --no-fund \
 && npm run build \
 && node scripts/image-contents.mjs /app

# Run: built output and production dependencies only, as the unprivileged `node` user.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# Owned by root and not writable by the service: code and data cannot be changed at run time.
COPY --from=build /app /app
USER node
EXPOSE 4000 4001 4002 4003 4004 4005
# Node is PID 1: every service handles SIGTERM itself (turns not ready, waits SHUTDOWN_DELAY_MS,
# drains, exits), and none starts child processes, so no init process is needed to reap them.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["--max-old-space-size=384", "--max-semi-space-size=32", "router/dist/index.js"]
