# Shequ 社区 — the two commands: `make demo` and `make test`. Both install what they need.
SWIFT ?= swift
DATA ?= data/demo

.PHONY: deps build release demo test bench clean

# System libraries: SQLite, LZ4 (frame API) and libqrencode headers, from Debian, when missing.
deps:
	@missing=""; \
	[ -f /usr/include/sqlite3.h ] || missing="$$missing libsqlite3-dev"; \
	[ -f /usr/include/lz4frame.h ] || missing="$$missing liblz4-dev"; \
	[ -f /usr/include/qrencode.h ] || missing="$$missing libqrencode-dev"; \
	command -v sqlite3 >/dev/null || missing="$$missing sqlite3"; \
	command -v lz4 >/dev/null || missing="$$missing lz4"; \
	[ -x /usr/bin/chromedriver ] || missing="$$missing chromium chromium-driver"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v python3 >/dev/null || missing="$$missing python3 python3-pip"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# From PyPI: the real georeport client (Open311 test) and schemathesis (fuzzes the API from docs/openapi.yaml).
	@for module in georeport schemathesis; do \
		python3 -c "import $$module" 2>/dev/null && continue; \
		python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null; }; \
		python3 -m pip install -q $$module 2>/dev/null || python3 -m pip install -q --break-system-packages $$module; \
	done

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	.build/release/shequ demo --data $(DATA)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	.build/release/shequ bench apply

clean:
	rm -rf .build data
