# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway \
 && mkdir -p /out/data

# Run: nothing but the binary, CA certificates and an empty data directory, as a non-root user.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gateway /gateway
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /
ENV GATEWAY_CONFIG=""
VOLUME ["/data"]
EXPOSE 8080
# With no configuration the gateway runs its embedded default with data under ./data, which is
# /data here; mount a config file and set GATEWAY_CONFIG to use your own.
ENTRYPOINT ["/gateway"]
CMD ["serve"]
