# A vpbx node: Node 20, the repository's runtime files, `vpbx start`
# configured by VPBX_* variables (README.md, "Configuration").
# Built from the repository root: docker build -f deploy/vpbx.Dockerfile .
FROM node:20-bookworm-slim
WORKDIR /opt/vpbx
# Everything `npm ci` builds from comes first: its "prepare" script compiles
# the web console (console/ → console/dist) and the server (src/ →
# dist/server), and the image then runs the compiled server as `npm start`
# does.
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY console ./console
COPY src ./src
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The data directory is the node's own; the audio directory is shared by
# every node (a volume here, NFS across hosts).
ENV VPBX_DATA_DIR=/var/lib/vpbx \
    VPBX_AUDIO_URL=file:///srv/vpbx-audio \
    NODE_ENV=production
RUN mkdir -p /var/lib/vpbx /srv/vpbx-audio && chown node:node /var/lib/vpbx /srv/vpbx-audio
USER node
EXPOSE 5060/udp 5060/tcp 8080/tcp
# SIGTERM ends the calls with BYE and closes the store (README.md).
STOPSIGNAL SIGTERM
# bin/vpbx.js: the compiled server with the heap limit of its first line.
CMD ["./bin/vpbx.js", "start"]
