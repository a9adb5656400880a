# tourd in a container: a static binary on distroless, run as a non-root
# user, with its SQLite database on the /data volume. See the README,
# "Packaging".
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t tourd .
#   docker run -d --name tourd -p 8080:8080 -v tourd-data:/data tourd
#   docker exec tourd tourd keys create
#
# There is no HEALTHCHECK: the image has no shell nor curl to run one. Let
# the orchestrator probe GET /readyz (ready: 200, else 503) and GET /healthz
# (the process answers) over HTTP on port 8080 instead.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
# internal/cli/packaging_test.go runs this command outside Docker: keep it on
# one line, writing to /out/tourd.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X tourd/internal/buildinfo.version=${VERSION}" -o /out/tourd ./cmd/tourd
# The volume's mount point, owned by the user tourd runs as, so that a new
# named volume starts out writable by it.
RUN mkdir /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tourd /usr/local/bin/tourd
COPY --from=build --chown=65532:65532 /out/data /data
ENV TOURD_DB=sqlite:/data/tourd.db \
    TOURD_ADDR=0.0.0.0:8080 \
    TOURD_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/tourd"]
CMD ["serve"]
