#!/usr/bin/env bash
# The GPU check: one command on a machine with a CUDA GPU and no network.
#
#   bash benchmarks/gpu_check.sh                 # cuda, full sizes, output in $OUT or ./gpu-check-<time>
#   bash benchmarks/gpu_check.sh --device cpu --quick --out DIR     # the same steps on the CPU, small
#
# Steps (each writes STEP.log under the output folder; summary.txt collects the results):
#   env       python, torch, CUDA device, onnxruntime providers, which modules are missing;
#             missing pure wheels are installed from a carried folder (--wheels DIR, else
#             ./wheels or ./shared/wheels) into OUT/pylib with pip --no-index --no-deps;
#   tests     the proxy tests with NASCLI_TEST_PROXY_DEVICE=DEVICE (needs pytest);
#   compare   every proxy on DEVICE vs the CPU, same seeds, TF32 off, rtol 1e-3 / atol 1e-6
#             (benchmarks/proxy_devices.py compare);
#   zico      ZiCo seconds per network, ZiCo-450M at 224 px x 64 x 2 batches, DEVICE and CPU
#             (benchmarks/proxy_devices.py time);
#   search    the shipped 450M search (configs/searches/imagenet-450mflops.yaml) on DEVICE,
#             wall time and summary.json (needs optuna; skipped, saying so, without it);
#   ort       the cuda ORT latency table for mobilenet-imagenet when onnxruntime has the CUDA
#             provider; otherwise it says onnxruntime-gpu is absent.
# --quick shrinks every size (tests, 1 cell, 64 px x 8, 3 search iterations, no ORT table) so
# the whole script runs in a minute on a CPU; it is what tests/test_gpu_check.py runs.
# Exit status: 0 when every step that ran passed (skipped steps do not fail), else 1; 2 for
# bad arguments or a DEVICE this machine lacks.
set -u

DEVICE=cuda
QUICK=0
OUT_DIR="${OUT:-}"
WHEELS="${NASCLI_WHEELS:-}"
PYTHON="${PYTHON:-python3}"
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE="${2:?--device needs a value}"; shift 2 ;;
        --out) OUT_DIR="${2:?--out needs a value}"; shift 2 ;;
        --wheels) WHEELS="${2:?--wheels needs a value}"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 2
[ -n "$OUT_DIR" ] || OUT_DIR="$ROOT/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT_DIR" || { echo "error: cannot create $OUT_DIR" >&2; exit 2; }
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
SUMMARY="$OUT_DIR/summary.txt"
: > "$SUMMARY"
export PYTHONPATH="$OUT_DIR/pylib:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export NASCLI_HOME="$OUT_DIR/home"   # never the machine's own user folder
export NASCLI_OFFLINE=1              # no download attempts
export PYTHONDONTWRITEBYTECODE=1
FAILED=0

say() { echo "$*" | tee -a "$SUMMARY"; }
has() { "$PYTHON" -c "import $1" >/dev/null 2>&1; }
# run STEP CMD...: log to STEP.log, record the exit status and the wall time.
run() {
    local step="$1"; shift
    local start end rc
    start=$(date +%s%N)
    "$@" > "$OUT_DIR/$step.log" 2>&1
    rc=$?
    end=$(date +%s%N)
    say "[$step] exit $rc, $(( (end - start) / 1000000 )) ms: $*"
    [ $rc -eq 0 ] || FAILED=1
    return $rc
}

say "nascli GPU check: device $DEVICE, quick $QUICK, $(date -u +%FT%TZ), output $OUT_DIR"
say "checkout: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"

# ------------------------------------------------------------------ env
MISSING=""
for module in torch numpy scipy yaml typer rich onnx onnxruntime optuna platformdirs PIL matplotlib pytest; do
    has "$module" || MISSING="$MISSING $module"
done
if [ -n "$MISSING" ]; then
    say "[env] missing modules:$MISSING"
    for folder in "$WHEELS" "$ROOT/wheels" "$ROOT/shared/wheels"; do
        if [ -n "$folder" ] && ls "$folder"/*.whl >/dev/null 2>&1; then
            run env-wheels "$PYTHON" -m pip install --no-index --no-deps --quiet \
                --target "$OUT_DIR/pylib" "$folder"/*.whl
            break
        fi
    done
    STILL=""
    for module in $MISSING; do has "$module" || STILL="$STILL $module"; done
    [ -z "$STILL" ] || say "[env] still missing:$STILL (carry their wheels in ./wheels)"
fi
"$PYTHON" - "$DEVICE" > "$OUT_DIR/env.log" 2>&1 <<'PY'
import platform, sys
import torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda build", torch.version.cuda)
print("cuda available", torch.cuda.is_available(), "devices", torch.cuda.device_count())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"cuda:{i}", p.name, f"{p.total_memory / 2**30:.1f} GiB")
try:
    import onnxruntime as ort
    print("onnxruntime", ort.__version__, "providers", ort.get_available_providers())
except ImportError as exc:
    print("onnxruntime missing:", exc)
from nascli.proxies.device import resolve_device
print("proxy device", resolve_device(sys.argv[1]))
PY
ENV_RC=$?
cat "$OUT_DIR/env.log" | tee -a "$SUMMARY"
if [ $ENV_RC -ne 0 ]; then
    say "error: device $DEVICE is not usable here (see env.log)"
    exit 2
fi

# ------------------------------------------------------------------ tests
if has pytest; then
    if [ $QUICK -eq 1 ]; then
        TESTS=(tests/test_proxy_device.py -k "test_every_proxy")
    else
        TESTS=(tests/test_proxy_device.py tests/test_proxies_math.py tests/test_proxies_literature.py)
    fi
    NASCLI_TEST_PROXY_DEVICE="$DEVICE" run tests "$PYTHON" -m pytest -q -p no:cacheprovider "${TESTS[@]}"
    tail -n 1 "$OUT_DIR/tests.log" | tee -a "$SUMMARY"
else
    say "[tests] skipped: pytest is not importable (carry its wheels in ./wheels)"
fi

# ------------------------------------------------------------------ compare
if [ $QUICK -eq 1 ]; then
    COMPARE=(--cells 1 --batch-size 8 --no-macro)
    TIMING=(--resolution 64 --batch-size 8 --repeats 1)
else
    COMPARE=()
    TIMING=(--resolution 224 --batch-size 64 --repeats 5)
fi
run compare "$PYTHON" benchmarks/proxy_devices.py compare --device "$DEVICE" --out "$OUT_DIR" "${COMPARE[@]}"
tail -n 1 "$OUT_DIR/compare.log" | tee -a "$SUMMARY"

# ------------------------------------------------------------------ zico timing
run zico "$PYTHON" benchmarks/proxy_devices.py time --device "$DEVICE" --out "$OUT_DIR" "${TIMING[@]}"
grep -E "^(ZiCo|speed-up)" "$OUT_DIR/zico.log" | tee -a "$SUMMARY"

# ------------------------------------------------------------------ the shipped 450M search
if has optuna; then
    SEARCH=(search --config imagenet-450mflops --proxy-device "$DEVICE" --no-onnx --force
            --out "$OUT_DIR/search-450m" --json)
    [ $QUICK -eq 0 ] || SEARCH+=(--iterations 3)
    run search "$PYTHON" -m nascli "${SEARCH[@]}"
    "$PYTHON" - "$OUT_DIR/search-450m/summary.json" <<'PY' 2>/dev/null | tee -a "$SUMMARY"
import json, sys
s = json.load(open(sys.argv[1]))
best = s.get("best") or {}
print(f"search: {s['trials']['done']} evaluations, search {s['search_seconds']} s, proxy "
      f"{s['proxy_seconds_total']} s, devices {s['proxy'].get('devices')}, best ZiCo "
      f"{best.get('value')} at {best.get('macs')} MACs")
PY
else
    say "[search] skipped: optuna is not importable (carry optuna and its dependencies as wheels)"
fi

# ------------------------------------------------------------------ ORT cuda table
PROVIDERS="$("$PYTHON" -c 'import onnxruntime as o; print(",".join(o.get_available_providers()))' 2>/dev/null)"
if echo "$PROVIDERS" | grep -q CUDAExecutionProvider; then
    if [ $QUICK -eq 1 ]; then
        say "[ort] CUDAExecutionProvider present; table not profiled in --quick mode"
    else
        run ort "$PYTHON" -m nascli profile --device cuda --space mobilenet-imagenet \
            --out "$OUT_DIR/cuda-mobilenet-imagenet-224.json"
    fi
else
    say "[ort] onnxruntime-gpu absent (providers: ${PROVIDERS:-onnxruntime not importable}): the cuda latency table for mobilenet-imagenet is not profiled"
fi

say "done: $( [ $FAILED -eq 0 ] && echo 'every step that ran passed' || echo 'some steps FAILED' ); files in $OUT_DIR"
exit $FAILED
