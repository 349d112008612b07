#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer run of neurokin.
#
#   tools/sanitize.sh            C unit tests (ctest) + the fast Python subset
#   tools/sanitize.sh full       C unit tests + the whole Python suite
#   tools/sanitize.sh c          C unit tests only
#   tools/sanitize.sh py [ARGS]  Python only; ARGS are passed to pytest
#
# Builds core, C tests and extension with -DNK_SANITIZE=ON in $NK_ASAN_BUILD
# (default build-asan).  The sanitized extension never replaces the in-place
# python/neurokin/_core*.so: the package is copied to $NK_ASAN_PKG (default
# build-asan/pkg/neurokin) with the ASan .so dropped in, and that directory goes
# first on PYTHONPATH.  CPython itself is not instrumented, so libasan is
# LD_PRELOADed and leak detection is off for Python (CPython's own allocations
# would drown real reports); the C tests run with leak detection on.
#
# Exits non-zero on any test failure and on any sanitizer report (also ones
# printed by a child process that did not change its exit status).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
MODE="${1:-fast}"
[ $# -gt 0 ] && shift
BUILD="${NK_ASAN_BUILD:-$REPO/build-asan}"
PKG="${NK_ASAN_PKG:-$BUILD/pkg}"
PY="${PYTHON:-$(command -v python3)}"
JOBS="${NK_JOBS:-$(nproc 2>/dev/null || echo 2)}"
LOG="$BUILD/sanitize.log"

# Fast subset: the API, error, expression, failure-mode, pickling, stress and
# (short) fuzz tests.  Under ASan this takes a few minutes on 2 cores.
FAST_TESTS=(tests/test_api.py tests/test_errors.py tests/test_expr.py
            tests/test_solve_ivp.py tests/test_ratelaws.py tests/test_failures.py
            tests/test_pickle.py tests/test_stress.py tests/test_fuzz.py
            tests/test_ensemble_lanes.py)

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)

build() {
  cmake -S "$REPO" -B "$BUILD" "${GEN[@]}" -DNK_SANITIZE=ON -DNK_BUILD_TESTS=ON \
    -DNK_BUILD_PYTHON=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPython_EXECUTABLE="$PY" >/dev/null
  cmake --build "$BUILD" -j"$JOBS"
}

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

run_c() {
  echo "== ctest under ASan/UBSan ($BUILD)"
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS"
}

run_py() {
  local libasan libstdcxx preload
  libasan="$(gcc -print-file-name=libasan.so)"
  if [ ! -e "$libasan" ]; then
    echo "sanitize.sh: libasan.so not found (gcc -print-file-name=libasan.so)" >&2
    exit 2
  fi
  # libstdc++ is preloaded too, so ASan finds the real __cxa_throw for C++
  # extensions loaded later (matplotlib's ft2font aborts in ASan otherwise)
  preload="$libasan"
  libstdcxx="$(gcc -print-file-name=libstdc++.so)"
  [ -e "$libstdcxx" ] && preload="$libasan $libstdcxx"
  rm -rf "$PKG"
  mkdir -p "$PKG"
  cp -r "$REPO/python/neurokin" "$PKG/neurokin"
  rm -f "$PKG"/neurokin/_core*.so
  find "$PKG" -name __pycache__ -prune -exec rm -rf {} +
  cp "$BUILD"/_core*.so "$PKG/neurokin/"
  echo "== pytest under ASan/UBSan: $* (package copy $PKG/neurokin)"
  local rc=0 reports="$BUILD/reports"
  # Reports go to files (log_path): one printed while pytest captures fd 2,
  # or by a child process, is not lost.
  rm -rf "$reports"
  mkdir -p "$reports"
  # -p no:cacheprovider: the sanitized run leaves the developer's cache alone.
  env LD_PRELOAD="$preload" \
      ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1" \
      PYTHONMALLOC=malloc PYTHONPATH="$PKG" NEUROKIN_ASAN=1 \
      "$PY" -c "import neurokin, sys; assert neurokin.__file__.startswith('$PKG'), neurokin.__file__" \
    || { echo "sanitize.sh: the sanitized package is not the one imported" >&2; exit 2; }
  env LD_PRELOAD="$preload" \
      ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:halt_on_error=1:log_path=$reports/asan" \
      UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan" \
      PYTHONMALLOC=malloc PYTHONPATH="$PKG" NEUROKIN_ASAN=1 \
      "$PY" -X faulthandler -m pytest -q -p no:cacheprovider "$@" 2>&1 \
      | tee "$LOG" \
    || rc=$?
  # (allocation-failure warnings of allocator_may_return_null are not reports)
  local pattern="ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|CHECK failed"
  if grep -qE "$pattern" "$LOG" || grep -qsE "$pattern" "$reports"/*; then
    echo "sanitize.sh: sanitizer report(s): $LOG, $reports/" >&2
    grep -lsE "$pattern" "$reports"/* | head -3 | xargs -r cat | head -80 >&2
    [ "$rc" -eq 0 ] && rc=1
  fi
  [ "$rc" -eq 0 ] || echo "sanitize.sh: pytest under ASan/UBSan failed (exit $rc); log $LOG" >&2
  return "$rc"
}

mkdir -p "$BUILD"
build
case "$MODE" in
  c) run_c ;;
  fast) run_c; run_py "${FAST_TESTS[@]}" "$@" ;;
  full) run_c; run_py tests "$@" ;;
  py) if [ $# -eq 0 ]; then run_py "${FAST_TESTS[@]}"; else run_py "$@"; fi ;;
  *) echo "usage: $0 [fast|full|c|py [pytest args]]" >&2; exit 2 ;;
esac
echo "sanitize.sh: $MODE run clean"
