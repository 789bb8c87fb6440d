# insitu: build, run and test. `make run` and `make test` work on a machine
# that has only Go; `make test` uses the aws CLI, rclone and s3cmd when they
# are installed (.ci/run installs them).

GO        ?= go
BIN       ?= bin/insitu
PKGS      ?= ./...
TESTFLAGS ?= -race -timeout 30m
FUZZTIME  ?= 10s

.PHONY: build run test fuzz check clean images

include examples/apps/apps.mk

build:
	$(GO) build -o $(BIN) ./cmd/insitu

run: build examples
	./$(BIN) server --seed-apps examples/apps

# images builds the tiny guest (examples/images/tiny) from Debian packages;
# without busybox-static, dropbear-bin, cpio or e2fsprogs it says so and
# builds nothing (the instance tests then skip).
images:
	examples/images/tiny/build.sh

test: images
	$(GO) test $(TESTFLAGS) $(PKGS)
	$(MAKE) examples-test

# fuzz runs every fuzz target briefly (FUZZTIME each). A run that fails
# with nothing but "context deadline exceeded" and writes no failing input
# is Go's fuzzing coordinator racing its own -fuzztime deadline on a busy
# machine (golang/go#51484), not a finding: that target runs once more,
# and a second failure of any kind fails.
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    rc=0; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg >"$$log" 2>&1 || rc=$$?; cat "$$log"; \
	    if [ $$rc -ne 0 ]; then \
	      if grep -q 'context deadline exceeded' "$$log" && ! grep -q 'Failing input written' "$$log"; then \
	        echo "fuzz $$pkg $$f: the fuzzing deadline race, no input found; once more"; \
	        $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	      else exit 1; fi; \
	    fi; \
	  done; \
	done

check:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt needed" && exit 1)
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(MAKE) test

clean:
	rm -rf bin
