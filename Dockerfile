# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway \
 && mkdir -p /out/data /out/tmp && chmod 1777 /out/tmp

# Run: nothing but the binary, CA certificates, an empty data directory and a /tmp (Go's
# multipart parser spills large uploads there, SQLite its temporary files), as a non-root user.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gateway /gateway
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/tmp /tmp
USER 65532:65532
WORKDIR /
ENV GATEWAY_CONFIG=""
VOLUME ["/data"]
EXPOSE 8080
# With no configuration the gateway runs its embedded default with data under ./data, which is
# /data here; mount a config file and set GATEWAY_CONFIG to use your own.
# No shell or curl in a scratch image: the binary asks its own /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]
CMD ["serve"]
