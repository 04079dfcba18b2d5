#!/usr/bin/env bash
# Runs for two example cases, made with GuideLLM against tools/testserver.py on 127.0.0.1:
#   cases/prompt-trimming-testserver/runs/  one server, prompts ~1,000 tokens vs ~600 (0.6×)
#   cases/teardown-testserver/runs/         one server with 4 slots (a FIFO queue), a rate sweep 1, 3, 6 req/s
#
#   GUIDELLM=/tmp/toolsvenv25/bin/guidellm bash tools/make_case_examples.sh
#
# GuideLLM lives in its own venv (python -m venv V && V/bin/pip install guidellm); the offline word
# tokenizer comes from tools/make_tokenizer.py. Raw outputs go to $RAW; the JSON files the cases read
# are copied into the cases' runs/ folders. Nothing here needs the network.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
G="${GUIDELLM:-/work/toolvenvs/guidellm/bin/guidellm}"
GPY="$(dirname "$G")/python"
RAW="${RAW:-/tmp/casegen-examples-raw}"
PY="${PYTHON:-python3}"
PORT_A="${PORT_A:-18251}"
PORT_B="${PORT_B:-18252}"
TOK="$RAW/tokenizer"
mkdir -p "$RAW"
"$GPY" "$HERE/make_tokenizer.py" "$TOK" > /dev/null

"$PY" "$HERE/testserver.py" --port "$PORT_A" --profile baseline --seed 1 --max-seconds 1200 > "$RAW/server-trimming.log" 2>&1 &
SA=$!
"$PY" "$HERE/testserver.py" --port "$PORT_B" --profile baseline --slots 4 --seed 3 --max-seconds 1200 > "$RAW/server-teardown.log" 2>&1 &
SB=$!
trap 'kill $SA $SB 2>/dev/null || true' EXIT
sleep 1
log() { echo "+ $*" | tee -a "$RAW/commands.log"; }
common=(--tokenizer "kind=hf_auto,model=$TOK" --disable-console-interactive)

# prompt trimming: same server, same rate, same output length; prompts 0.6x as long
for side in full trimmed; do
  if [ $side = full ]; then data="kind=synthetic_text,prompt_tokens=1000,prompt_tokens_stdev=300,prompt_tokens_min=300,prompt_tokens_max=1700,output_tokens=64"
  else data="kind=synthetic_text,prompt_tokens=600,prompt_tokens_stdev=180,prompt_tokens_min=180,prompt_tokens_max=1020,output_tokens=64"; fi
  args=(run --backend "kind=openai_http,target=http://127.0.0.1:$PORT_A,model=test-model" --profile kind=constant,rate=3
        --data "$data" --constraint kind=max_requests,count=240 "${common[@]}" --output "kind=json,path=$RAW/trimming-$side/benchmarks.json")
  log guidellm "${args[@]}"
  HF_HUB_OFFLINE=1 "$G" "${args[@]}" > "$RAW/trimming-$side.log" 2>&1
done

# teardown: a server that runs at most 4 requests at once, offered 1, 3 and 6 req/s
args=(run --backend "kind=openai_http,target=http://127.0.0.1:$PORT_B,model=test-model" --profile kind=constant,rate=1
      --override profile.rate 1,3,6
      --data "kind=synthetic_text,prompt_tokens=800,prompt_tokens_stdev=400,prompt_tokens_min=100,prompt_tokens_max=1600,output_tokens=48"
      --constraint kind=max_requests,count=100 "${common[@]}" --output "kind=json,path=$RAW/teardown-sweep/benchmarks.json")
log guidellm "${args[@]}"
HF_HUB_OFFLINE=1 "$G" "${args[@]}" > "$RAW/teardown-sweep.log" 2>&1

head -1 "$RAW/server-trimming.log" > "$RAW/servers.txt"
head -1 "$RAW/server-teardown.log" >> "$RAW/servers.txt"
echo "raw outputs in $RAW"
