# ngx_dashboards: build, run and test.
#
#   make            build build/ngx_http_dashboards_module.so against the packaged nginx
#   make deps       install the Debian packages this needs (root; a no-op when present)
#   make run        private PostgreSQL + demo data + nginx on 127.0.0.1:8080 (foreground)
#   make test       build, then prove -r t/ against one private PostgreSQL cluster
#   make test-asan  the same with an AddressSanitizer build of the module
#   make test-valgrind  the same with nginx running under valgrind (slow)
#   make bench      bench/run
#   make clean      remove build/ (var/ with the demo cluster stays; make distclean removes it)
#
# The module is built the way Debian's nginx_mod debhelper build system builds
# dynamic modules: configure from nginx-dev's /usr/share/nginx/src with the exact
# flags of the packaged binary (conf_flags, which carries --with-compat), with the
# build directory outside the system tree, then `make modules`.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

MODULE      := ngx_http_dashboards_module
NGX_SRC     ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       := $(CURDIR)/build

# Flags of the module build. nginx's configure adds its own
# (-W -Wall -Wpointer-arith -Wno-unused-parameter -Werror) in front of these.
CC_OPT      ?= -g -O2 -fPIC -Wall -Wextra -Werror -Wno-unused-parameter \
               -fstack-protector-strong -Wformat -Werror=format-security \
               -Wdate-time -D_FORTIFY_SOURCE=2
LD_OPT      ?= -fPIC -Wl,-z,relro -Wl,-z,now

ASAN_CC_OPT ?= -g -O1 -fPIC -Wall -Wextra -Werror -Wno-unused-parameter \
               -fsanitize=address -fno-omit-frame-pointer -fno-common
ASAN_LD_OPT ?= -fPIC -fsanitize=address

# Debian packages needed to build, run and test (make deps / .ci/run).
DEPS_PKGS   ?= nginx nginx-dev libpq-dev libcjson-dev libssl-dev \
               postgresql-15 postgresql-client-15 perl make gcc libasan8 curl wrk openssl

PROVE_ARGS  ?= -r
TESTS       ?= t/
JOBS        ?= 1

SOURCES     := $(CURDIR)/config $(wildcard $(CURDIR)/src/*.c $(CURDIR)/src/*.h)

export NGX_SRC NGINX_BIN

.PHONY: all build asan deps run test check test-asan asan-test test-valgrind \
        valgrind bench clean distclean help

all: build

build: $(BUILD)/$(MODULE).so

asan: $(BUILD)/asan/$(MODULE).so

# $(call module_so,<variant dir>,<cc opt>,<ld opt>)
# configure (when config, this Makefile or the flags changed), compile, copy, nginx -t.
define module_rules
$(1)/nginx/Makefile: $(CURDIR)/config $(CURDIR)/Makefile | $(NGX_SRC)/configure
	@mkdir -p $(1)
	@echo "== configure ($(1))"
	cd $(NGX_SRC) && source ./conf_flags && \
	  flock $(1)/.lock ./configure --with-cc-opt="$(2)" --with-ld-opt="$(3)" \
	    "$$$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) --builddir=$(1)/nginx \
	    > $(1)/configure.log 2>&1 \
	  || { tail -40 $(1)/configure.log; exit 1; }
	@find $(1)/nginx/addon -name '*.o' -delete 2>/dev/null || true

$(1)/$(MODULE).so: $(1)/nginx/Makefile $(SOURCES)
	@# a changed header that config does not list still forces a full module rebuild
	@if [ -n "$$(filter %.h,$$?)" ] || [ -n "$$(filter %/config,$$?)" ]; then find $(1)/nginx/addon -name '*.o' -delete; fi
	@# the lock keeps two makes (two shells, an editor) from writing the same objects
	flock $(1)/.lock $$(MAKE) --no-print-directory -f $(1)/nginx/Makefile -C $(NGX_SRC) modules
	@tmp=$(1)/$(MODULE).so.$$$$$$$$.tmp; \
	  flock $(1)/.lock cp $(1)/nginx/$(MODULE).so $$$$tmp && \
	  $(CURDIR)/scripts/check-module $$$$tmp && mv -f $$$$tmp $(1)/$(MODULE).so \
	  || { rm -f $$$$tmp; exit 1; }
	@echo "built $(1)/$(MODULE).so"
endef

$(eval $(call module_rules,$(BUILD),$(CC_OPT),$(LD_OPT)))
$(eval $(call module_rules,$(BUILD)/asan,$(ASAN_CC_OPT),$(ASAN_LD_OPT)))

$(NGX_SRC)/configure:
	@echo "$(NGX_SRC)/configure is missing: install nginx-dev (make deps, as root)" >&2
	@exit 1

deps:
	@DEPS_PKGS="$(DEPS_PKGS)" $(CURDIR)/scripts/deps

run: deps build
	@exec $(CURDIR)/scripts/run

test check: deps build
	@DASH_MODULE=$(BUILD)/$(MODULE).so DASH_JOBS=$(JOBS) \
	  $(CURDIR)/t/run $(PROVE_ARGS) $(TESTS)

test-asan asan-test: deps asan
	@DASH_MODULE=$(BUILD)/asan/$(MODULE).so DASH_SANITIZER=asan DASH_JOBS=$(JOBS) \
	  $(CURDIR)/t/run $(PROVE_ARGS) $(TESTS)

test-valgrind valgrind: deps build
	@command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
	@DASH_MODULE=$(BUILD)/$(MODULE).so DASH_SANITIZER=valgrind DASH_JOBS=$(JOBS) \
	  $(CURDIR)/t/run $(PROVE_ARGS) $(TESTS)

bench: deps build
	@if [ -x bench/run ]; then exec bench/run; \
	 elif [ -f bench/run ]; then exec bash bench/run; \
	 else echo "bench/run does not exist yet" >&2; exit 1; fi

clean:
	rm -rf $(BUILD)

distclean: clean
	@if [ -f var/nginx.pid ] || [ -f var/pg/postmaster.pid ]; then \
	  echo "var/ looks in use (make run still running?): stop it first" >&2; exit 1; fi
	rm -rf var

help:
	@sed -n '3,11p' $(CURDIR)/Makefile | sed 's/^# \{0,1\}//'
