# syntax=docker/dockerfile:1
#
# Flotilla controller image.
#
#   docker build -t flotilla:latest .
#
# Node 24, the major the project pins (package.json engines, devDependency
# `node`). test/integration/image-steps.test.ts replays these steps without
# Docker (npm ci, npm run build, npm ci --omit=dev, `flotilla --help` and
# `flotilla run` from dist/src/cli/main.js).

ARG NODE_IMAGE=node:24-slim

# --- build: all dependencies, compile src/ and workers/ to dist/ -------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts stay on here: the only one is the devDependency `node`'s,
# which installs the pinned Node binary as node_modules/.bin/node. `npm run`
# puts node_modules/.bin first on PATH, so tsc (`#!/usr/bin/env node`) would
# hit a half-installed `node` package if the script were skipped.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# --- production dependencies only ---------------------------------------------
# `node`, `typescript` and `@types/node` are devDependencies, so none of them
# (nor npm's cache) reaches the final image; the image's Node runs dist/.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script (package-lock.json:
# hasInstallScript is set only on `node`), so none are run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- final ------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# No package manager or dev tools in the runtime image: the controller needs
# only `node`. (Corepack ships yarn/pnpm shims; npm is removed as well.)
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /usr/local/bin/pnpm /usr/local/bin/pnpx \
      /opt/yarn-* /root/.npm /tmp/*
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
COPY --chown=0:0 package.json ./
# The default config (src/config: `config/flotilla.yaml` relative to the
# working directory); the Deployment mounts its own at /etc/flotilla.
COPY --chown=0:0 config/flotilla.yaml ./config/flotilla.yaml
# Files stay owned by root and read-only to the runtime user; the pod runs
# with readOnlyRootFilesystem and an emptyDir on /tmp.
# 65532 is the conventional "nonroot" uid/gid (distroless); numeric so that
# Kubernetes can verify runAsNonRoot without a passwd lookup.
USER 65532:65532
# 8443: /metrics (HTTPS, metrics.secure); 8081: /healthz and /readyz (HTTP).
EXPOSE 8443 8081
# Exec form: node is PID 1 and receives SIGTERM itself (a shell form would
# wrap it in /bin/sh, which does not forward signals). No tini is needed:
# PID 1 gets no default signal dispositions from the kernel, but the
# controller's Lifecycle installs its own SIGTERM/SIGINT handlers (graceful
# shutdown, lease release, exit 0), and it spawns no child processes, only
# worker threads, so there are no zombies to reap.
# The entrypoint is the `flotilla` CLI's `run` command: container args are
# its flags (the Deployment passes --config). `--no-local`: with no cluster
# found the process must fail (exit 2), not look for a local control plane.
ENTRYPOINT ["node", "dist/src/cli/main.js", "run", "--no-local"]
