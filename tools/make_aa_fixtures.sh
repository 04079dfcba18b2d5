#!/usr/bin/env bash
# A/A runs: the current AIPerf and GuideLLM against ONE unchanged tools/testserver.py process.
#
#   bash tools/make_aa_fixtures.sh            # then trim (see the end of this file)
#
# Nothing changes between runs, so every ordered pair of runs of one tool and one load is a case in
# which page 1 must say "no change" (tests/test_aa_pairs.py, benchmarks/aa_pairs.py). Per tool:
#   * 6 closed-loop runs: concurrency 8, 300 requests, 128-token prompts, 32 output tokens;
#   * 4 open-loop runs: Poisson arrivals at $RATE req/s (default 30 = 88 % of the capacity AIPerf
#     measured at concurrency 128 on the machine the fixtures were made on: 34.7 req/s), 300 requests.
# Clients live in venvs under $TOOLVENVS (default /work/toolvenvs/<tool>, `pip install aiperf` /
# `pip install guidellm`). The server logs what it counted per request (--log-requests) so the
# prompt lengths the clients claim can be checked. Runs take ~10–45 s each.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOOLVENVS="${TOOLVENVS:-/work/toolvenvs}"
RAW="${RAW:-/tmp/casegen-aa-raw}"
PY="${PYTHON:-python3}"
PORT="${PORT:-18261}"
RATE="${RATE:-30}"
URL="http://127.0.0.1:$PORT"
TOK="$RAW/tokenizer"
mkdir -p "$RAW"
"$TOOLVENVS/guidellm/bin/python" "$HERE/make_tokenizer.py" "$TOK"

"$PY" "$HERE/testserver.py" --port "$PORT" --profile baseline --seed 1 --max-seconds 5400 \
  --log-requests "$RAW/requests.jsonl" > "$RAW/server-aa.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
log() { echo "+ $*" | tee -a "$RAW/commands.log"; }

A="$TOOLVENVS/aiperf/bin/aiperf"
C=(--url "$URL" --model test-model --endpoint-type chat --streaming --tokenizer "$TOK" --isl 128 --isl-stddev 0
   --osl 32 --ui none)
log aiperf profile "${C[@]}" --random-seed 1 --concurrency 128 --request-count 800 --output-artifact-dir aiperf-capacity-c128
"$A" profile "${C[@]}" --random-seed 1 --concurrency 128 --request-count 800 --output-artifact-dir "$RAW/aiperf-capacity-c128" > "$RAW/capacity.log" 2>&1
for i in 1 2 3 4 5 6; do
  log aiperf profile "${C[@]}" --random-seed "$i" --concurrency 8 --request-count 300 --output-artifact-dir "aiperf/closed-c8-run$i"
  "$A" profile "${C[@]}" --random-seed "$i" --concurrency 8 --request-count 300 --output-artifact-dir "$RAW/aiperf/closed-c8-run$i" > "$RAW/aiperf-closed-$i.log" 2>&1
done
for i in 1 2 3 4; do
  log aiperf profile "${C[@]}" --random-seed $((10 + i)) --request-rate "$RATE" --request-count 300 --output-artifact-dir "aiperf/open-r$RATE-run$i"
  "$A" profile "${C[@]}" --random-seed $((10 + i)) --request-rate "$RATE" --request-count 300 --output-artifact-dir "$RAW/aiperf/open-r$RATE-run$i" > "$RAW/aiperf-open-$i.log" 2>&1
done

G="$TOOLVENVS/guidellm/bin/guidellm"
B="kind=openai_http,target=$URL,model=test-model"
D="kind=synthetic_text,prompt_tokens=128,output_tokens=32"
T="kind=hf_auto,model=$TOK"
for i in 1 2 3 4 5 6; do
  log guidellm run --backend "$B" --profile kind=concurrent,streams=8 --data "$D" --constraint kind=max_requests,count=300 --tokenizer "$T" --disable-console-interactive --output "kind=json,path=guidellm/closed-c8-run$i/benchmarks.json"
  HF_HUB_OFFLINE=1 "$G" run --backend "$B" --profile kind=concurrent,streams=8 --data "$D" --constraint kind=max_requests,count=300 \
    --tokenizer "$T" --disable-console-interactive --output "kind=json,path=$RAW/guidellm/closed-c8-run$i/benchmarks.json" > "$RAW/guidellm-closed-$i.log" 2>&1
done
for i in 1 2 3 4; do
  log guidellm run --backend "$B" --profile "kind=poisson,rate=$RATE" --data "$D" --constraint kind=max_requests,count=300 --tokenizer "$T" --disable-console-interactive --output "kind=json,path=guidellm/open-r$RATE-run$i/benchmarks.json"
  HF_HUB_OFFLINE=1 "$G" run --backend "$B" --profile "kind=poisson,rate=$RATE" --data "$D" --constraint kind=max_requests,count=300 \
    --tokenizer "$T" --disable-console-interactive --output "kind=json,path=$RAW/guidellm/open-r$RATE-run$i/benchmarks.json" > "$RAW/guidellm-open-$i.log" 2>&1
done
echo "raw outputs in $RAW; trim with (keep runs 1-3 of each kind):"
KEEP=(--one-server --dest tests/fixtures/aa --drop 'closed-c8-run[456]*' --drop 'open-r*-run4*')
echo "  python tools/trim_fixtures.py $RAW aiperf <version> ${KEEP[*]} --keep-metrics input_sequence_length,output_sequence_length,output_token_count,reasoning_token_count,time_to_first_token,request_latency,inter_chunk_latency,usage_prompt_tokens --keep-metadata request_start_ns,request_end_ns,benchmark_phase,was_cancelled --drop '*gpu_telemetry*'"
echo "  python tools/trim_fixtures.py $RAW guidellm <version> ${KEEP[*]} $(printf -- '--drop-key %s ' request_args output reasoning_output tool_calls input_metrics output_metrics settings traceback parent_node_ids conversation_id node_id agent_id targeted_start predecessor_completed queued dequeued scheduled_at resolve_start first_request_iteration first_output_token_iteration last_request_iteration request_iterations token_iterations last_request_sent request_sent_sum request_sent_count token_received_sum token_received_count resolve_end finalized request_id response_id history_len preceding_nodes scheduler_node_id scheduler_process_id scheduler_start_time started_at completed_at request_dispatch_delay turn_predecessor_delay turn_scheduling_delay request_scheduled_latency tokens_per_second output_tokens_per_second iter_tokens_per_iteration output_tokens_per_iteration time_to_last_round_trip_ms avg_round_trip_time_ms time_to_first_output_token_ms response_metrics cached_tokens)"
