# `make test` is the full suite: CI (.ci/run) and the README use it, and it stops at the first failure.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.NOTPARALLEL:

GOLANGCI_VERSION := v2.15.0
GOLANGCI := $(CURDIR)/bin/golangci-lint
NODE_DIR := test/node
# Packages for vet, lint and go-test (e.g. PKGS=./internal/... while others are mid-change).
PKGS ?= ./...
FUZZTIME ?= 10s
# package:FuzzName pairs; a target whose fuzz function does not exist yet is skipped.
FUZZ_TARGETS ?= ./core/parser:FuzzDecode ./core/parser:FuzzBinaryReconstruct ./core/engine:FuzzDecodePayload ./core/engine:FuzzDecodePayloadV3 ./core/engine:FuzzParseQuery ./msgpackparser:FuzzDecode

.PHONY: test run fmt-check vet lint go-test fuzz node-deps tools

test: node-deps fmt-check vet lint go-test fuzz

run:
	go run ./examples/express-style/chat

# npm ci only when the lock file is newer than the installed tree.
node-deps: $(NODE_DIR)/node_modules/.package-lock.json
$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

fmt-check:
	@files=$$(find . -path ./$(NODE_DIR)/node_modules -prune -o -path ./bin -prune -o -name '*.go' -print | xargs -r gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt -l lists unformatted files:"; echo "$$files"; exit 1; fi

vet:
	go vet $(PKGS)

tools:
	@if [ "$$($(GOLANGCI) version --short 2>/dev/null)" != "$(GOLANGCI_VERSION:v%=%)" ]; then \
		echo "installing golangci-lint $(GOLANGCI_VERSION) into bin/ (takes a few minutes)"; \
		GOBIN=$(CURDIR)/bin go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION); \
	fi

lint: tools
	$(GOLANGCI) config verify
	$(GOLANGCI) run $(PKGS)

# SOCKETIO_REQUIRE_NODE=1: Node-driven tests fail instead of skipping when node or test/node deps are missing.
go-test: node-deps
	SOCKETIO_REQUIRE_NODE=1 SOCKETIO_REQUIRE_REDIS=1 go test -race -shuffle=on -timeout 10m $(PKGS)

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		if ! grep -qs "^func $$name(" $$pkg/*_test.go; then echo "fuzz: skip $$t (no func $$name yet)"; continue; fi; \
		echo "fuzz: $$t for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done
