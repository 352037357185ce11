# syntax=docker/dockerfile:1
# The Mend service image. It drives the HOST's Docker engine through a mounted socket
# (sandbox containers are siblings, not children) and keeps its data in /data.
# The base is an ARG so it can be built from a local base where no registry is reachable:
#   docker build --build-arg NODE_IMAGE=my-local-node24 -t mend .
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY wire/package.json wire/
COPY sandboxes/package.json sandboxes/
COPY service/package.json service/
COPY client/package.json client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production MEND_HOST=0.0.0.0 MEND_PORT=8080 MEND_DATA_DIR=/data MEND_POLICIES_DIR=/app/policies
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY wire ./wire
COPY sandboxes ./sandboxes
COPY service ./service
COPY policies ./policies
RUN mkdir -p /data && chown node:node /data
# The socket's group must be granted at run time: --group-add $(stat -c %g /var/run/docker.sock)
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.MEND_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "service/src/cli/main.ts", "serve"]
