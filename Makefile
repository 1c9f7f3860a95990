# The README's two commands are `make run` and `make test`; CI runs `make test`.
GO       ?= go
PKGS     ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 40m

.PHONY: run build test test-short bench bench-smoke fuzz vet fmt peers docker

run:
	$(GO) run ./cmd/gateway serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/gateway ./cmd/gateway

# The whole suite: unit, conformance, end-to-end (builds and kills the real binary) and the
# tests against real peers, which test/peers/ installs and starts.
test: vet
	./test/peers/setup.sh
	$(GO) test $(TESTFLAGS) $(PKGS)
	$(MAKE) bench-smoke

test-short:
	$(GO) test -short $(PKGS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)

# The hot paths: intake and delivery (router, store), each channel's conversion, the webhook
# helpdesk's post, routing. End to end through the binary: go run ./test/load (docs/performance.md).
BENCH_PKGS = ./router/ ./router/store/ ./test/loopback/ ./connectors/channel/telegram/ ./connectors/channel/webchat/ \
	./connectors/channel/email/parse/ ./connectors/channel/whatsapp/wamsg/ ./connectors/channel/voice/ ./connectors/helpdesk/webhook/
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 5 $(BENCH_PKGS)

# Each benchmark once, so `make test` (CI) notices one that no longer compiles or fails; it
# measures nothing (issue 16).
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x $(BENCH_PKGS)

# Every parser of outside input, FUZZTIME each (the seeds also run in `make test`).
FUZZTIME ?= 30s
FUZZ_TARGETS = ./config:FuzzParse ./cmd/gateway:FuzzConfig ./test/loopback:FuzzChannelHook ./connectors/channel/webchat:FuzzParseClientFrame \
	./connectors/channel/telegram:FuzzConvertUpdate ./connectors/helpdesk/webhook:FuzzIncomingEvent ./normalize/htmltext:FuzzText \
	./connectors/helpdesk/rt:FuzzAttachmentContent ./normalize:FuzzCleanText ./connectors/media:FuzzImageSize \
	./connectors/channel/telegram:FuzzFilePath ./connectors/channel/email/parse:FuzzParse ./connectors/channel/voice:FuzzCallbacks \
	./connectors/channel/whatsapp/cloud:FuzzWebhook
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; \
		$(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s; \
	done

docker:
	docker build -t casino-support-gateway .
