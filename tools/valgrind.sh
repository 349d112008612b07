#!/usr/bin/env bash
# valgrind memcheck over the C unit tests (tests/c/test_*.c).
#
#   tools/valgrind.sh [TEST_NAME...]     default: every test binary
#
# test_sparse (benchmark-sized factorisations) takes ~15 min under memcheck;
# NK_VG_SKIP="test_sparse" leaves tests out (space-separated names).
#
# Builds the core and the C tests without sanitizers (RelWithDebInfo) in
# $NK_VG_BUILD (default build-valgrind) and runs each test binary under
# memcheck.  Fails on any memcheck error or any definitely lost block.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
BUILD="${NK_VG_BUILD:-$REPO/build-valgrind}"
JOBS="${NK_JOBS:-$(nproc 2>/dev/null || echo 2)}"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found" >&2; exit 2; }

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S "$REPO" -B "$BUILD" "${GEN[@]}" -DNK_SANITIZE=OFF -DNK_BUILD_TESTS=ON \
  -DNK_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$JOBS"

if [ $# -gt 0 ]; then
  TESTS=("$@")
else
  TESTS=()
  for src in "$REPO"/tests/c/test_*.c; do
    name="$(basename "$src" .c)"
    case " ${NK_VG_SKIP:-} " in *" $name "*) echo "skipped: $name"; continue ;; esac
    TESTS+=("$name")
  done
fi

# NK_VG_ORIGINS=1: track the origin of uninitialised values (twice as slow).
ORIGINS=()
[ "${NK_VG_ORIGINS:-0}" = 1 ] && ORIGINS=(--track-origins=yes)
# The fuzz test's iterations are capped: memcheck is ~30x slower.
export NK_FUZZ_ITERS="${NK_FUZZ_ITERS:-4000}"

fail=0
for t in "${TESTS[@]}"; do
  exe="$BUILD/$t"
  [ -x "$exe" ] || { echo "valgrind.sh: no binary $exe" >&2; fail=1; continue; }
  log="$BUILD/$t.memcheck.log"
  start=$(date +%s)
  if valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite --show-leak-kinds=definite \
       "${ORIGINS[@]}" --log-file="$log" "$exe" >"$BUILD/$t.out" 2>&1; then
    status=ok
  else
    status="FAILED (exit $?)"
    fail=1
  fi
  summary=$( (grep -E "ERROR SUMMARY" "$log" || true) | tail -1 | sed 's/^==[0-9]*== //')
  lost=$( (grep -E "definitely lost:" "$log" || true) | tail -1 | sed 's/^==[0-9]*== *//')
  printf '%-22s %-18s %4ss  %s  %s\n' "$t" "$status" "$(( $(date +%s) - start ))" \
    "$summary" "${lost:-definitely lost: 0 bytes}"
  if [ "$status" != ok ]; then
    sed -n '1,80p' "$log"
    tail -20 "$BUILD/$t.out"
  fi
done
if [ "$fail" -ne 0 ]; then
  echo "valgrind.sh: memcheck found errors (logs in $BUILD/*.memcheck.log)" >&2
  exit 1
fi
echo "valgrind.sh: clean (0 errors, 0 definite leaks) in ${#TESTS[@]} test binaries"
