# Example apps: included from the top Makefile (paths are relative to the
# repository root), or used alone with `make -f examples/apps/apps.mk`.
#
#   make examples        build every example that can be built here
#   make examples-test   run them all under wazero and check their output
#   make examples-clean  remove what `make examples` generated
#
# C apps (examples/apps/{wc,grep,sha256,upper,sum,csvselect,sortu} and
# examples/services/{hello,echo,notes}) are built with Debian's clang-14 and
# wasi-libc. Their small .wasm builds are committed beside their sources, so
# a machine with only Go still has them: without clang-14 `make examples`
# keeps the committed files. Go apps (thumbnail, watermark) and Go services
# (thumbs: source in examples/apps/services/NAME, since Go code lives in this
# module; build in examples/services/NAME/NAME.wasm) are 3-4 MB each and are
# not committed; they are always built, with GOOS=wasip1.

EXAMPLES_DIR  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
EXAMPLES_ROOT := $(patsubst %/,%,$(dir $(EXAMPLES_DIR)))

GO           ?= go
NICE         ?= nice -n 10
WASI_CC      ?= clang-14
WASI_SYSROOT ?= /usr
WASI_CFLAGS  ?= -O2 -Wall -Wextra -Werror
WASI_LDFLAGS ?= -Wl,--strip-all

EXAMPLES_C_APPS  := wc grep sha256 upper sum csvselect sortu
EXAMPLES_C_SVCS  := hello echo notes
EXAMPLES_GO_APPS := thumbnail watermark
EXAMPLES_GO_SVCS := thumbs

EXAMPLES_C_WASM  := $(foreach a,$(EXAMPLES_C_APPS),$(EXAMPLES_DIR)/$(a)/$(a).wasm) \
                    $(foreach s,$(EXAMPLES_C_SVCS),$(EXAMPLES_ROOT)/services/$(s)/$(s).wasm)
EXAMPLES_GO_WASM := $(foreach a,$(EXAMPLES_GO_APPS),$(EXAMPLES_DIR)/$(a)/$(a).wasm) \
                    $(foreach s,$(EXAMPLES_GO_SVCS),$(EXAMPLES_ROOT)/services/$(s)/$(s).wasm)

.PHONY: examples examples-c examples-c-build examples-go examples-test examples-clean

examples: examples-c examples-go

# examples-c builds the C examples only where clang-14 can link against
# wasi-libc; elsewhere the committed builds stay as they are.
examples-c:
	@if echo 'int main(void){return 0;}' | $(WASI_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) \
	    -x c -o /dev/null - >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory -f $(EXAMPLES_DIR)/apps.mk examples-c-build; \
	else \
	  echo "examples: no $(WASI_CC) with wasi-libc here; using the committed C .wasm files"; \
	fi

examples-c-build: $(EXAMPLES_C_WASM)

# One rule for every C example: DIR/NAME/NAME.wasm from DIR/NAME/NAME.c.
$(EXAMPLES_C_WASM): %.wasm: %.c
	$(NICE) $(WASI_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) $(WASI_CFLAGS) $(WASI_LDFLAGS) -o $@ $<

# Go keeps its own build cache, so these are always run and are quick when
# nothing changed.
examples-go:
	@set -e; for a in $(EXAMPLES_GO_APPS); do \
	  echo "go build $(EXAMPLES_DIR)/$$a/$$a.wasm"; \
	  (cd $(EXAMPLES_DIR) && GOOS=wasip1 GOARCH=wasm $(NICE) $(GO) build -trimpath -buildvcs=false -ldflags=-s -o $$a/$$a.wasm ./$$a); \
	done
	@set -e; for s in $(EXAMPLES_GO_SVCS); do \
	  echo "go build $(EXAMPLES_ROOT)/services/$$s/$$s.wasm"; \
	  (cd $(EXAMPLES_DIR) && GOOS=wasip1 GOARCH=wasm $(NICE) $(GO) build -trimpath -buildvcs=false -ldflags=-s -o ../services/$$s/$$s.wasm ./services/$$s); \
	done

# The tests use the committed C builds and build the Go apps themselves, so
# they need only Go.
examples-test:
	cd $(EXAMPLES_DIR) && $(NICE) $(GO) vet ./... && $(NICE) $(GO) test -count=1 ./...

# Only generated files go: the committed C builds stay (delete one by hand
# to force its rebuild, or run `make -B examples-c`).
examples-clean:
	rm -f $(EXAMPLES_GO_WASM)
