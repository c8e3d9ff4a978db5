# The app image for docker-compose.yml. Node 24 runs the TypeScript sources directly (type
# stripping), so there is no build step and no compiler in the image.
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so editing the sources does not reinstall them. Only the runtime ones:
# the service imports no dev dependency (test tools, typescript, biome).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

COPY . .

# The image's unprivileged user; the app needs no write access to /app.
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=16", "--max-old-space-size=1024", "service/main.ts"]
