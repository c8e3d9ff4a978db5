# The app image for docker-compose.yml. Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build step and no compiler in the image.
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production
# glibc's malloc keeps its 128 KiB mmap threshold, so the runtime's threads give freed memory back
# (scripts/bench/harness/bench.ts, NODE_ENV_VARS): set everywhere the service starts, like its flags.
ENV MALLOC_MMAP_THRESHOLD_=131072
# Node's compile cache, filled at build time below: the service starts from stripped JavaScript and
# V8's code, without loading the TypeScript stripper (~17 MB of RSS) (service/main.ts says more).
ENV NODE_COMPILE_CACHE=.cache/node-compile-cache

# Dependencies first, so editing the sources does not reinstall them. Only the runtime ones:
# the service imports no dev dependency (test tools, typescript, biome).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

COPY . .
RUN node --max-semi-space-size=16 --max-old-space-size=1024 service/main.ts --warm-compile-cache

# The image's unprivileged user; the app needs no write access to /app.
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=16", "--max-old-space-size=1024", "service/main.ts"]
