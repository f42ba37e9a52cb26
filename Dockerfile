# syntax=docker/dockerfile:1
# One image for every process; the command picks the role:
#   gateway  node dist/src/server.js   (default)
#   worker   node dist/src/worker.js
#   migrate  node dist/src/cli/migrate.js
# Debian slim rather than Alpine: the Temporal worker's native core-bridge ships glibc builds.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The lock records every platform's optional binaries (test/unit/lockfile.test.ts keeps it so), and
# dependencies' install scripts are denied in package.json (allowScripts): isolated-vm loads its prebuilt
# binary for this Node at run time, nothing is compiled.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# dist/src/db/migrate.js looks for `../../migrations` next to itself, i.e. dist/migrations.
COPY migrations ./dist/migrations
# Files stay root-owned and read-only to the app user; the app writes nothing to its own directory.
USER node
EXPOSE 3000
CMD ["node", "dist/src/server.js"]
