# Shequ 社区 — the two commands: `make demo` and `make test`. Both install what they need.
SWIFT ?= swift
DATA ?= data/demo

.PHONY: deps build release demo test bench soak fuzz fuzz-brief clean

# System libraries: SQLite, LZ4 (frame API), libqrencode, stb_image and libwebp (photos) headers, from Debian, when missing.
deps:
	@missing=""; \
	[ -f /usr/include/sqlite3.h ] || missing="$$missing libsqlite3-dev"; \
	[ -f /usr/include/lz4frame.h ] || missing="$$missing liblz4-dev"; \
	[ -f /usr/include/qrencode.h ] || missing="$$missing libqrencode-dev"; \
	[ -f /usr/include/stb/stb_image.h ] || missing="$$missing libstb-dev"; \
	[ -f /usr/include/webp/decode.h ] || missing="$$missing libwebp-dev"; \
	command -v sqlite3 >/dev/null || missing="$$missing sqlite3"; \
	command -v lz4 >/dev/null || missing="$$missing lz4"; \
	[ -x /usr/bin/chromedriver ] || missing="$$missing chromium chromium-driver"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v bc >/dev/null || missing="$$missing bc"; \
	command -v serf >/dev/null || missing="$$missing serf"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
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
	$(MAKE) fuzz-brief

# Coverage-guided fuzzing of the frame, message, LZ4 and JSON decoders with libFuzzer (Sources/shequ-fuzz). `make fuzz`
# runs FUZZ_SECONDS, merges what grew coverage into Tests/Fuzz/corpus and leaves any crash in Tests/Fuzz/crashes (the
# replay test in Tests/WireTests runs every file of both); `make test` fuzzes briefly from the corpus.
FUZZ_SECONDS ?= 600
FUZZ_BIN = .build/fuzz/release/shequ-fuzz
FUZZ_FLAGS = -max_len=8192 -print_final_stats=1 -timeout=10 -rss_limit_mb=2048

$(FUZZ_BIN): deps $(wildcard Sources/Fuzzing/*.swift Sources/shequ-fuzz/*.swift Sources/Wire/*.swift Sources/Gossip/*.swift Sources/Replication/*.swift)
	$(SWIFT) build -c release --product shequ-fuzz --build-path .build/fuzz --toolset Tests/Fuzz/lld-toolset.json \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING

fuzz: $(FUZZ_BIN)
	@mkdir -p .build/fuzz/found Tests/Fuzz/crashes
	$(FUZZ_BIN) .build/fuzz/found Tests/Fuzz/corpus $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Tests/Fuzz/crashes/
	$(FUZZ_BIN) -merge=1 Tests/Fuzz/corpus .build/fuzz/found 2>&1 | tail -1

fuzz-brief: $(FUZZ_BIN)
	@scratch=$$(mktemp -d); \
	$(FUZZ_BIN) $$scratch Tests/Fuzz/corpus $(FUZZ_FLAGS) -max_total_time=30 -artifact_prefix=$$scratch/crash- >$$scratch/log 2>&1; \
	status=$$?; grep -E "INITED|DONE|ERROR|SUMMARY|Test unit written|stat::(number_of_executed_units|average_exec_per_sec)" $$scratch/log; \
	if [ $$status -ne 0 ]; then tail -40 $$scratch/log; echo "fuzzing found a crash: make fuzz, then add it to Tests/Fuzz/crashes"; fi; \
	rm -rf $$scratch; exit $$status

# Every bench beside its baseline (about 15 minutes on 2 cores); docs/benchmarks.md records the figures.
bench: release
	.build/release/shequ bench all --plot docs/benchmarks-federation.svg

# The long runs: the whole of Shanghai as 232 processes (up, a write from a street read at the city, all down again);
# real-process chaos on the demo topology; SEEDS simulator seeds; the simulated Shanghai topology for 10 minutes.
SEEDS ?= 500
soak: release
	cluster/city-scale.sh .build/release/shequ
	cluster/chaos.sh .build/release/shequ 120
	.build/release/shequ simulate --seed 1000 --seeds $(SEEDS) --quiet
	.build/release/shequ simulate --seed 7 --nodes 232 --minutes 10

clean:
	rm -rf .build data
