#!/usr/bin/env bash
# A caching case from the current GuideLLM against tools/testserver.py: the same server profile without a
# prefix cache (cached_tokens reported as 0) and with one (--prefix-cache-blocks), prompts that share
# prefixes (GuideLLM synthetic_text prefix_count/prefix_tokens). Output: tests/fixtures/guidellm/<version>-cache/.
#
#   bash tools/make_cache_fixture.sh          # needs $TOOLVENVS/guidellm (pip install guidellm)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOOLVENVS="${TOOLVENVS:-/work/toolvenvs}"
RAW="${RAW:-/tmp/casegen-fixtures-raw}"
PY="${PYTHON:-python3}"
G="$TOOLVENVS/guidellm/bin/guidellm"
TOK="$RAW/tokenizer"
mkdir -p "$RAW"
[ -d "$TOK" ] || "$TOOLVENVS/guidellm/bin/python" "$HERE/make_tokenizer.py" "$TOK"
out="$RAW/guidellm-cache"; rm -rf "$out"; mkdir -p "$out"
# the same timing profile; only the prefix cache differs (512 blocks of 16 tokens: about 8 requests' prompts)
"$PY" "$HERE/testserver.py" --port 18131 --profile baseline --seed 1 --prefix-cache-blocks 0 --max-seconds 900 > "$out/server-no-cache.log" 2>&1 &
S1=$!
"$PY" "$HERE/testserver.py" --port 18132 --profile baseline --seed 2 --prefix-cache-blocks 512 --max-seconds 900 > "$out/server-prefix-cache.log" 2>&1 &
S2=$!
trap 'kill $S1 $S2 2>/dev/null || true' EXIT
sleep 1
common=(--data kind=synthetic_text,prompt_tokens=256,output_tokens=32,prefix_count=16,prefix_tokens=768
        --constraint kind=max_requests,count=300 --tokenizer "kind=hf_auto,model=$TOK" --disable-console-interactive
        --profile kind=constant,rate=4)
pids=()
for side in no-cache prefix-cache; do
  port=18131; [ $side = prefix-cache ] && port=18132
  echo "+ guidellm run --backend kind=openai_http,target=http://127.0.0.1:$port,model=test-model ${common[*]} --output kind=json,path=$out/$side/benchmarks.json" | tee -a "$out/commands.log"
  HF_HUB_OFFLINE=1 "$G" run --backend "kind=openai_http,target=http://127.0.0.1:$port,model=test-model" "${common[@]}" \
    --output "kind=json,path=$out/$side/benchmarks.json" > "$out/$side.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

# AIPerf (current release) against a prefix-cache server whose requests queue for one of 4 slots: AIPerf
# records each request's cached tokens (usage_prompt_cache_read_tokens) and scrapes the server's /metrics
# (server_metrics_export.json: vllm:request_queue_time_seconds, the server's own queue time).
A="$TOOLVENVS/aiperf/bin/aiperf"
if [ -x "$A" ]; then
  out="$RAW/aiperf-cache"; rm -rf "$out"; mkdir -p "$out"
  "$PY" "$HERE/testserver.py" --port 18133 --profile baseline --seed 3 --prefix-cache-blocks 512 --slots 4 --max-seconds 900 > "$out/server-prefix-cache-slots4.log" 2>&1 &
  S3=$!
  trap 'kill $S1 $S2 $S3 2>/dev/null || true' EXIT
  sleep 1
  acommon=(--model test-model --endpoint-type chat --streaming --tokenizer "$TOK" --isl 256 --isl-stddev 0 --osl 32
           --prompt-prefix-pool-size 16 --prompt-prefix-length 768 --ui none --random-seed 1)
  echo "+ aiperf profile --url http://127.0.0.1:18133 ${acommon[*]} --concurrency 8 --request-count 200 --output-artifact-dir $out/prefix-cache-slots4-c8" | tee -a "$out/commands.log"
  "$A" profile --url http://127.0.0.1:18133 "${acommon[@]}" --concurrency 8 --request-count 200 \
    --output-artifact-dir "$out/prefix-cache-slots4-c8" > "$out/prefix-cache-slots4-c8.log" 2>&1
fi

# inference-perf (current release; needs Python >= 3.12) against the same kind of prefix-cache server, shared-prefix
# prompts: every request's record keeps the server's usage (server_usage.prompt_tokens_details.cached_tokens).
I="$TOOLVENVS/inference-perf/bin/inference-perf"
if [ -x "$I" ]; then
  out="$RAW/inference-perf-cache"; rm -rf "$out"; mkdir -p "$out"
  "$PY" "$HERE/testserver.py" --port 18134 --profile baseline --seed 4 --prefix-cache-blocks 512 --max-seconds 900 > "$out/server-prefix-cache.log" 2>&1 &
  S4=$!
  trap 'kill $S1 $S2 ${S3:-} $S4 2>/dev/null || true' EXIT
  sleep 1
  cat > "$out/prefix-cache.yml" <<YML
api: {type: completion, streaming: true}
data:
  type: shared_prefix
  shared_prefix: {num_groups: 16, num_prompts_per_group: 20, system_prompt_len: 768, question_len: 256, output_len: 32, seed: 7}
load:
  type: constant
  stages:
  - {rate: 4, duration: 60}
  num_workers: 1
  base_seed: 7
server: {type: vllm, model_name: test-model, base_url: "http://127.0.0.1:18134", ignore_eos: true}
tokenizer: {pretrained_model_name_or_path: "$TOK"}
report:
  request_lifecycle:
    summary: true
    per_stage: true
    per_request: true
    per_request_fields: {request: false, response: false, response_chunks: false, computed_metrics: false}
  prometheus: null
storage: {local_storage: {path: "$out/prefix-cache"}}
YML
  echo "+ inference-perf -c prefix-cache.yml" | tee -a "$out/commands.log"; cat "$out/prefix-cache.yml" >> "$out/commands.log"
  "$I" -c "$out/prefix-cache.yml" > "$out/prefix-cache.log" 2>&1
fi
