# Thin wrapper around CMake. `make run` and `make test` work on a fresh Debian
# machine: they install what is missing first (contrib/install-deps.sh).
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps test-deps run test asan clean

all: build

deps:
	@sh contrib/install-deps.sh

test-deps:
	@sh contrib/install-deps.sh --test

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	mkdir -p out
	$(BUILD)/evalua scripts/quickstart.lua

test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
asan: test-deps
	cmake -S . -B build-asan -DEVALUA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan
