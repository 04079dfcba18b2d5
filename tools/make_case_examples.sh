#!/usr/bin/env bash
# Runs for two example cases, made with GuideLLM against tools/testserver.py on 127.0.0.1:
#   cases/prompt-trimming-testserver/runs/  one server; the same 240 prompts (~1,000 words) and each cut
#                                           to its first 60 % of words (0.6x as long); 64 output tokens
#   cases/teardown-testserver/runs/         one server that runs at most 4 requests at once (--slots 4,
#                                           a FIFO queue); offered 1, 3 and 6 req/s
#
#   GUIDELLM=/tmp/toolsvenv25/bin/guidellm bash tools/make_case_examples.sh
#
# GuideLLM lives in its own venv (python -m venv V && V/bin/pip install guidellm); the offline word
# tokenizer comes from tools/make_tokenizer.py. Prompts are JSON Lines written by tools/make_prompts.py
# (seeded): one word of the server's vocabulary is one token on the server and in the client. Raw
# outputs go to $RAW; the cases' runs are those files with the prompt/answer texts blanked and the
# JSON compacted (tools/trim_fixtures.py's rule). Nothing here needs the network.
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
rm -rf "$RAW"; mkdir -p "$RAW"
"$GPY" "$HERE/make_tokenizer.py" "$TOK" > /dev/null
"$PY" "$HERE/make_prompts.py" "$RAW"

"$PY" "$HERE/testserver.py" --port "$PORT_A" --profile baseline --seed 1 --max-seconds 1200 > "$RAW/server-trimming.log" 2>&1 &
SA=$!
"$PY" "$HERE/testserver.py" --port "$PORT_B" --profile baseline --slots 4 --seed 3 --max-seconds 1200 > "$RAW/server-teardown.log" 2>&1 &
SB=$!
trap 'kill $SA $SB 2>/dev/null || true' EXIT
sleep 1
log() { echo "+ $*" | tee -a "$RAW/commands.log"; }
common=(--tokenizer "kind=hf_auto,model=$TOK" --disable-console-interactive)

# prompt trimming: same server, same rate, same output length; each prompt cut to 60 % of its words
for side in full trimmed; do
  args=(run --backend "kind=openai_http,target=http://127.0.0.1:$PORT_A,model=test-model" --profile kind=constant,rate=3
        --data "kind=json_file,path=$RAW/prompts-$side.jsonl" --constraint kind=max_requests,count=240 "${common[@]}"
        --output "kind=json,path=$RAW/trimming-$side/benchmarks.json")
  log guidellm "${args[@]}"
  HF_HUB_OFFLINE=1 "$G" "${args[@]}" > "$RAW/trimming-$side.log" 2>&1
done

# teardown: a server that runs at most 4 requests at once, offered 1, 3 and 6 req/s
args=(run --backend "kind=openai_http,target=http://127.0.0.1:$PORT_B,model=test-model" --profile kind=constant,rate=1
      --override profile.rate 1,3,6 --data "kind=json_file,path=$RAW/prompts-teardown.jsonl"
      --constraint kind=max_requests,count=100 "${common[@]}" --output "kind=json,path=$RAW/teardown-sweep/benchmarks.json")
log guidellm "${args[@]}"
HF_HUB_OFFLINE=1 "$G" "${args[@]}" > "$RAW/teardown-sweep.log" 2>&1

cd "$REPO"
mkdir -p cases/prompt-trimming-testserver/runs cases/teardown-testserver/runs
"$PY" "$HERE/make_prompts.py" --compact "$RAW/trimming-full/benchmarks.json" cases/prompt-trimming-testserver/runs/full-prompt.json
"$PY" "$HERE/make_prompts.py" --compact "$RAW/trimming-trimmed/benchmarks.json" cases/prompt-trimming-testserver/runs/trimmed-prompt.json
"$PY" "$HERE/make_prompts.py" --compact "$RAW/teardown-sweep/benchmarks.json" cases/teardown-testserver/runs/rate-sweep.json
echo "servers:"; head -n 1 "$RAW/server-trimming.log" "$RAW/server-teardown.log"
echo "raw outputs in $RAW"
