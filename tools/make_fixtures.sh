#!/usr/bin/env bash
# Regenerate tests/fixtures/<tool>/<version>/ from the current releases of the benchmark clients.
#
#   bash tools/make_fixtures.sh [aiperf|inference-perf|guidellm|sglang|vllm ...]
#
# Every client lives in its own venv under $TOOLVENVS (default /work/toolvenvs/<tool>, made with
# `python -m venv` + `pip install <tool>`; inference-perf needs Python >= 3.12). Each run talks to
# tools/testserver.py on 127.0.0.1 (a "baseline" server and an "optimized" one), uses the offline
# word tokenizer from tools/make_tokenizer.py, and takes seconds. Raw outputs go to $RAW (default
# /tmp/casegen-fixtures-raw); tools/trim_fixtures.py then copies the files tests need into
# tests/fixtures/<tool>/<version>/ and writes PROVENANCE there. Nothing here needs the network.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TOOLVENVS="${TOOLVENVS:-/work/toolvenvs}"
RAW="${RAW:-/tmp/casegen-fixtures-raw}"
PY="${PYTHON:-python3}"
BASE_PORT="${BASE_PORT:-18101}"
OPT_PORT="${OPT_PORT:-18102}"
BASE="http://127.0.0.1:$BASE_PORT"
OPT="http://127.0.0.1:$OPT_PORT"
TOK="$RAW/tokenizer"
TOOLS=("$@")
[ ${#TOOLS[@]} -eq 0 ] && TOOLS=(aiperf inference-perf guidellm)
mkdir -p "$RAW"

"$TOOLVENVS/aiperf/bin/python" "$HERE/make_tokenizer.py" "$TOK" 2>/dev/null \
  || "$TOOLVENVS/guidellm/bin/python" "$HERE/make_tokenizer.py" "$TOK"

# the two "configurations": same server, different timing profiles (see tools/testserver.py)
"$PY" "$HERE/testserver.py" --port "$BASE_PORT" --profile baseline --seed 1 --max-seconds 1800 > "$RAW/server-baseline.log" 2>&1 &
SB=$!
"$PY" "$HERE/testserver.py" --port "$OPT_PORT" --profile optimized --seed 2 --max-seconds 1800 > "$RAW/server-optimized.log" 2>&1 &
SO=$!
trap 'kill $SB $SO 2>/dev/null || true' EXIT
sleep 1

log() { echo "+ $*" | tee -a "$RAW/commands.log"; }

run_aiperf() {
  local A="$TOOLVENVS/aiperf/bin/aiperf" out="$RAW/aiperf"
  rm -rf "$out"; mkdir -p "$out"
  local common=(--model test-model --endpoint-type chat --streaming --tokenizer "$TOK" --isl 128 --isl-stddev 0
                --osl 32 --ui none --random-seed 1)
  # one run per configuration at concurrency 4 (per-request JSONL + summary JSON/CSV)
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    log aiperf profile --url "$url" "${common[@]}" --concurrency 4 --request-count 40 --output-artifact-dir "$out/$side-c4"
    "$A" profile --url "$url" "${common[@]}" --concurrency 4 --request-count 40 --output-artifact-dir "$out/$side-c4" > "$out/$side-c4.log" 2>&1
  done
  # a request-rate run
  log aiperf profile --url "$BASE" "${common[@]}" --request-rate 5 --request-count 30 --output-artifact-dir "$out/baseline-rate5"
  "$A" profile --url "$BASE" "${common[@]}" --request-rate 5 --request-count 30 --output-artifact-dir "$out/baseline-rate5" > "$out/baseline-rate5.log" 2>&1
  # concurrency sweeps (sweep folder with one sub-folder per point + sweep_aggregate/)
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    log aiperf profile --url "$url" "${common[@]}" --concurrency 1,4,8 --request-count 24 --output-artifact-dir "$out/$side-sweep"
    "$A" profile --url "$url" "${common[@]}" --concurrency 1,4,8 --request-count 24 --output-artifact-dir "$out/$side-sweep" > "$out/$side-sweep.log" 2>&1
  done
  # repeated runs (aggregate/ with confidence statistics)
  log aiperf profile --url "$BASE" "${common[@]}" --concurrency 4 --request-count 16 --num-profile-runs 3 --output-artifact-dir "$out/baseline-repeat"
  "$A" profile --url "$BASE" "${common[@]}" --concurrency 4 --request-count 16 --num-profile-runs 3 --output-artifact-dir "$out/baseline-repeat" > "$out/baseline-repeat.log" 2>&1 || echo "aiperf --num-profile-runs failed (see $out/baseline-repeat.log)"
}

ip_config() {  # side url load-yaml out
  cat <<YAML
api: {type: completion, streaming: true}
data:
  type: random
  input_distribution: {min: 100, max: 100, mean: 100, std_dev: 0, total_count: 400}
  output_distribution: {min: 32, max: 32, mean: 32, std_dev: 0, total_count: 400}
load:
$3
  interval: 1
  num_workers: 1
  base_seed: 7
server: {type: vllm, model_name: test-model, base_url: "$2", ignore_eos: true}
tokenizer: {pretrained_model_name_or_path: "$TOK"}
report:
  request_lifecycle:
    summary: true
    per_stage: true
    per_request: true
    per_request_fields: {request: false, response: false, response_chunks: false, computed_metrics: $5}
  prometheus: null
storage: {local_storage: {path: "$4"}}
YAML
}

run_inference_perf() {
  local I="$TOOLVENVS/inference-perf/bin/inference-perf" out="$RAW/inference-perf"
  rm -rf "$out"; mkdir -p "$out"
  local conc='  type: concurrent
  stages:
  - {num_requests: 12, concurrency_level: 1}
  - {num_requests: 24, concurrency_level: 4}
  - {num_requests: 32, concurrency_level: 8}'
  local rate='  type: constant
  stages:
  - {rate: 2, duration: 4}
  - {rate: 5, duration: 4}
  - {rate: 8, duration: 4}'
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    ip_config $side "$url" "$conc" "$out/$side-concurrency" true > "$out/$side-concurrency.yml"
    log inference-perf -c "$side-concurrency.yml"; cat "$out/$side-concurrency.yml" >> "$RAW/commands.log"
    "$I" -c "$out/$side-concurrency.yml" > "$out/$side-concurrency.log" 2>&1
  done
  ip_config baseline "$BASE" "$rate" "$out/baseline-rate" false > "$out/baseline-rate.yml"
  log inference-perf -c baseline-rate.yml; cat "$out/baseline-rate.yml" >> "$RAW/commands.log"
  "$I" -c "$out/baseline-rate.yml" > "$out/baseline-rate.log" 2>&1
}

run_guidellm() {
  local G="$TOOLVENVS/guidellm/bin/guidellm" out="$RAW/guidellm"
  rm -rf "$out"; mkdir -p "$out"
  local common=(--data kind=synthetic_text,prompt_tokens=128,output_tokens=32 --constraint kind=max_requests,count=20
                --tokenizer "kind=hf_auto,model=$TOK" --disable-console-interactive)
  outputs() { echo --output "kind=json,path=$1/benchmarks.json" --output "kind=csv,path=$1/benchmarks.csv" --output "kind=html,path=$1/benchmarks.html"; }
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    log guidellm run --backend "kind=openai_http,target=$url,model=test-model" --profile kind=concurrent,streams=1 --override profile.streams 1,4,8 "${common[@]}" $(outputs "$out/$side-concurrent")
    HF_HUB_OFFLINE=1 "$G" run --backend "kind=openai_http,target=$url,model=test-model" --profile kind=concurrent,streams=1 --override profile.streams 1,4,8 "${common[@]}" $(outputs "$out/$side-concurrent") > "$out/$side-concurrent.log" 2>&1
  done
  log guidellm run --backend "kind=openai_http,target=$BASE,model=test-model" --profile kind=constant,rate=5 "${common[@]}" $(outputs "$out/baseline-rate5")
  HF_HUB_OFFLINE=1 "$G" run --backend "kind=openai_http,target=$BASE,model=test-model" --profile kind=constant,rate=5 "${common[@]}" $(outputs "$out/baseline-rate5") > "$out/baseline-rate5.log" 2>&1
}

run_guidellm_repeats() {
  # three repetitions a side, interleaved in time (baseline, optimized, baseline, …): the case
  # tests/fixtures/guidellm/0.8.1-repeats/ uses them with the runs as the unit, paired by start time
  local G="$TOOLVENVS/guidellm/bin/guidellm" out="$RAW/guidellm-repeats"
  rm -rf "$out"; mkdir -p "$out"
  local common=(--data kind=synthetic_text,prompt_tokens=128,output_tokens=32 --constraint kind=max_requests,count=100
                --tokenizer "kind=hf_auto,model=$TOK" --disable-console-interactive --profile kind=constant,rate=5)
  for i in 1 2 3; do
    for side in baseline optimized; do
      local url=$BASE; [ $side = optimized ] && url=$OPT
      log guidellm run --backend "kind=openai_http,target=$url,model=test-model" "${common[@]}" --output "kind=json,path=$out/$side-$i/benchmarks.json"
      HF_HUB_OFFLINE=1 "$G" run --backend "kind=openai_http,target=$url,model=test-model" "${common[@]}" --output "kind=json,path=$out/$side-$i/benchmarks.json" > "$out/$side-$i.log" 2>&1
    done
  done
}

run_sglang() {
  # sglang 0.5.23 `python -m sglang.bench_serving` (deprecated alias of sglang.benchmark.serving). Its
  # 'random' dataset downloads ShareGPT, so 'random-ids' (random token ids, no download) is used.
  local P="$TOOLVENVS/sglang/bin/python" out="$RAW/sglang"
  rm -rf "$out"; mkdir -p "$out"
  local common=(--backend sglang-oai --model test-model --tokenizer "$TOK" --dataset-name random-ids
                --random-input-len 128 --random-output-len 32 --random-range-ratio 1.0 --num-prompts 20
                --request-rate inf --seed 1 --output-details --disable-tqdm)
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    for c in 1 4 8; do  # one JSON line per run, appended to $side.jsonl
      log python -m sglang.bench_serving --base-url "$url" "${common[@]}" --max-concurrency $c --output-file "$out/$side.jsonl"
      HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$P" -m sglang.bench_serving --base-url "$url" "${common[@]}" \
        --max-concurrency $c --output-file "$out/$side.jsonl" > "$out/$side-c$c.log" 2>&1
    done
  done
}

run_vllm() {
  # vllm 0.33.0 `vllm bench serve`, in a venv made with `pip install --no-deps vllm` + torch==2.13.0 (CPU)
  # + the client's imports (see tests/fixtures/vllm/0.33.0/PROVENANCE).
  local V="$TOOLVENVS/vllm-lite/bin/vllm" out="$RAW/vllm"
  rm -rf "$out"; mkdir -p "$out"
  local common=(--backend openai --model test-model --tokenizer "$TOK" --dataset-name random --random-input-len 128
                --random-output-len 32 --num-prompts 20 --seed 1 --save-result --save-detailed --disable-tqdm)
  for side in baseline optimized; do
    local url=$BASE; [ $side = optimized ] && url=$OPT
    for c in 1 4 8; do
      log vllm bench serve --base-url "$url" "${common[@]}" --max-concurrency $c --result-dir "$out" --result-filename "$side-c$c.json"
      HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$V" bench serve --base-url "$url" "${common[@]}" --max-concurrency $c \
        --result-dir "$out" --result-filename "$side-c$c.json" > "$out/$side-c$c.log" 2>&1
    done
  done
}

for t in "${TOOLS[@]}"; do
  echo "== $t"
  "run_${t//-/_}"
done
