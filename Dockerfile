# drplan's image: a static binary on distroless, non-root. Build it from the repository root:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t drplan .
# The build step (the RUN go build below) is run as-is by TestDockerfileBuildStep.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/drplan/drplan/internal/cli.Version=${VERSION}" -o /out/drplan .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/drplan /usr/local/bin/drplan
# The plans repository's clone; mount a volume here (the install does) so the root filesystem
# can stay read-only.
VOLUME /var/cache/drplan
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/drplan"]
CMD ["agent", "--config", "/etc/drplan/agent.yaml"]
