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
