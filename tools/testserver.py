#!/usr/bin/env python3
"""A small OpenAI-compatible streaming server for making benchmark fixtures (not part of casegen).

Standard library only (asyncio). Serves on 127.0.0.1:

* ``GET  /health``, ``GET /v1/models``
* ``POST /v1/completions`` and ``POST /v1/chat/completions``, streaming (SSE, one token per
  chunk, ``stream_options.include_usage`` → a final usage chunk, ``data: [DONE]``) or not.

Tokens are whitespace-separated words: a prompt of N words is N prompt tokens and every
generated token is one word, so a client tokenising with a whitespace word-level tokenizer
(``tools/make_tokenizer.py``) counts exactly what the server reports.

Timing model (seconds, all configurable; ``--profile`` picks a preset):

* TTFT = (base + prompt_tokens × prefill_per_token) × slow
* each further token = decode_per_token × slow
* slow = 1 + slowdown × (requests in flight − 1), so latency grows with concurrency
* ``--slots N``: at most N requests run at once, the others wait in a FIFO queue (queueing inside TTFT)
* ``GET /metrics``: Prometheus text with vLLM's names — ``vllm:request_queue_time_seconds`` (histogram of
  the time each request waited for a slot), ``vllm:num_requests_waiting`` / ``vllm:num_requests_running``
  (gauges) and ``vllm:prefix_cache_queries_total`` / ``vllm:prefix_cache_hits_total`` (prompt tokens looked
  up in / served from the prefix cache), so a client that scrapes the server (AIPerf) records them
* every delay is multiplied by a log-normal jitter (``--jitter`` sigma, seeded ``--seed``)
* ``--prefix-cache-blocks N``: a prefix cache (as vLLM's automatic prefix caching): the prompt's words
  in blocks of ``--block-tokens`` (16), each block keyed by the hash of the whole prefix up to its end;
  the leading blocks already cached are not prefilled again (TTFT counts only the other prompt tokens,
  at least one), and every block of the prompt is then cached, least recently used evicted beyond N
  blocks. The usage then reports ``prompt_tokens_details.cached_tokens`` (0 with ``N = 0``: no cache,
  but the field reported, as vLLM does with ``--enable-prompt-tokens-details``)

The server stops by itself after ``--max-seconds`` (default 600) so a forgotten process
never lingers. It is a test double: nothing here measures a real model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import time
from collections import OrderedDict
from dataclasses import dataclass

PROFILES = {
    # slower prefill and decode, strong contention: the "before" configuration
    "baseline": dict(base_ms=30.0, prefill_ms_per_token=0.08, decode_ms_per_token=12.0, slowdown=0.06),
    # faster kernels, less contention: the "after" configuration
    "optimized": dict(base_ms=20.0, prefill_ms_per_token=0.05, decode_ms_per_token=8.0, slowdown=0.03),
}
#: the queue-time histogram's upper bounds, seconds (finer than vLLM's, for the test server's short waits)
QUEUE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


@dataclass
class Config:
    model: str
    base_ms: float
    prefill_ms_per_token: float
    decode_ms_per_token: float
    slowdown: float
    jitter: float
    default_max_tokens: int
    seed: int
    slots: int = 0  # 0: every request runs at once; N: at most N run, the rest wait in a FIFO queue
    prefix_cache_blocks: int | None = None  # None: no cache, no cached_tokens in the usage; 0: none cached
    block_tokens: int = 16


class _Headers:
    """Collects what a GET handler writes and keeps the status line and headers only (for HEAD)."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    @property
    def head(self) -> bytes:
        return self.data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"


class Server:
    def __init__(self, cfg: Config, log_path: str | None = None) -> None:
        self.cfg = cfg
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115 - open while serving
        self.inflight = 0
        self.rng = random.Random(cfg.seed)
        self.served = 0
        self.sem = asyncio.Semaphore(cfg.slots) if cfg.slots > 0 else None
        self.blocks: OrderedDict[int, None] = OrderedDict()  # the prefix cache, least recently used first
        self.waiting = 0
        self.queue_counts = [0] * (len(QUEUE_BUCKETS_S) + 1)  # per bucket (le), the last one +Inf
        self.queue_sum_s = 0.0
        self.cache_queries = self.cache_hits = 0

    def observe_queue(self, wait_s: float) -> None:
        i = next((j for j, le in enumerate(QUEUE_BUCKETS_S) if wait_s <= le), len(QUEUE_BUCKETS_S))
        self.queue_counts[i] += 1
        self.queue_sum_s += wait_s

    def metrics_text(self) -> str:
        """Prometheus exposition text with vLLM's metric names (see the module docstring)."""
        lab = f'model_name="{self.cfg.model}"'
        name = "vllm:request_queue_time_seconds"
        lines = [f"# HELP {name} Histogram of time spent in WAITING phase for request.", f"# TYPE {name} histogram"]
        total = 0
        for le, c in zip([*map(str, QUEUE_BUCKETS_S), "+Inf"], self.queue_counts):
            total += c
            lines.append(f'{name}_bucket{{le="{le}",{lab}}} {total}')
        lines += [f"{name}_sum{{{lab}}} {self.queue_sum_s!r}", f"{name}_count{{{lab}}} {total}"]
        for gauge, v, text in (("vllm:num_requests_waiting", self.waiting, "Number of requests waiting to be processed."),
                               ("vllm:num_requests_running", self.inflight, "Number of requests in model execution.")):
            lines += [f"# HELP {gauge} {text}", f"# TYPE {gauge} gauge", f"{gauge}{{{lab}}} {v}"]
        for counter, v in (("vllm:prefix_cache_queries", self.cache_queries), ("vllm:prefix_cache_hits", self.cache_hits)):
            lines += [f"# TYPE {counter} counter", f"{counter}_total{{{lab}}} {v}"]
        return "\n".join(lines) + "\n"

    def cache_lookup(self, words: list[str]) -> int:
        """Prompt tokens served from the prefix cache (leading full blocks already cached); then caches
        every full block of the prompt, evicting the least recently used beyond the capacity."""
        cap, size = self.cfg.prefix_cache_blocks, self.cfg.block_tokens
        if not cap:
            return 0
        keys, h = [], 0
        for i in range(len(words) // size):
            h = hash((h, tuple(words[i * size:(i + 1) * size])))
            keys.append(h)
        hit = 0
        for k in keys:
            if k not in self.blocks:
                break
            hit += 1
        for k in reversed(keys):  # the chain's tail is the least recently used: evicted first (as vLLM does)
            self.blocks[k] = None
            self.blocks.move_to_end(k)
        while len(self.blocks) > cap:
            self.blocks.popitem(last=False)
        return min(hit * size, max(0, len(words) - 1))  # at least one prompt token is computed

    # ---------------------------------------------------------------- timing
    def _noise(self) -> float:
        return self.rng.lognormvariate(0.0, self.cfg.jitter) if self.cfg.jitter > 0 else 1.0

    def _slow(self) -> float:
        return 1.0 + self.cfg.slowdown * max(0, self.inflight - 1)

    def ttft_s(self, prompt_tokens: int, cached_tokens: int = 0) -> float:
        c = self.cfg
        return (c.base_ms + (prompt_tokens - cached_tokens) * c.prefill_ms_per_token) * self._slow() * self._noise() / 1e3

    def itl_s(self) -> float:
        return self.cfg.decode_ms_per_token * self._slow() * self._noise() / 1e3

    # ---------------------------------------------------------------- HTTP
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    method, target, _ = line.decode("latin-1").split(" ", 2)
                except ValueError:
                    break
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await self._read_chunked(reader)
                path = target.split("?", 1)[0]
                keep = headers.get("connection", "").lower() != "close"
                await self.route(method, path, body, writer)
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the peer is gone; nothing to report
                pass

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        out = b""
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                return out
            out += await reader.readexactly(size)
            await reader.readline()

    @staticmethod
    def _send(writer: asyncio.StreamWriter, status: str, payload: bytes, ctype: str = "application/json") -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n"
                     f"Connection: keep-alive\r\n\r\n".encode() + payload)

    async def route(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> None:
        if method == "HEAD":  # as GET, headers only (a client checks that /metrics is there)
            probe = _Headers()
            await self.route("GET", path, body, probe)  # type: ignore[arg-type]
            writer.write(probe.head)
            return
        if method == "GET" and path in ("/health", "/v1/health", "/ping"):
            self._send(writer, "200 OK", b"{}")
        elif method == "GET" and path == "/v1/models":
            self._send(writer, "200 OK", json.dumps({"object": "list", "data": [
                {"id": self.cfg.model, "object": "model", "created": 0, "owned_by": "testserver",
                 "max_model_len": 32768}]}).encode())
        elif method == "GET" and path == "/metrics":
            self._send(writer, "200 OK", self.metrics_text().encode(), "text/plain; version=0.0.4")
        elif method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
            try:
                req = json.loads(body or b"{}")
            except json.JSONDecodeError:
                self._send(writer, "400 Bad Request", b'{"error": {"message": "invalid JSON"}}')
                return
            await self.generate(req, chat=path.endswith("chat/completions"), writer=writer)
        else:
            self._send(writer, "404 Not Found", b'{"error": {"message": "not found"}}')

    # ---------------------------------------------------------------- generation
    @staticmethod
    def _prompt_words(req: dict, chat: bool) -> list[str]:
        if chat:
            words: list[str] = []
            for m in req.get("messages") or []:
                content = m.get("content", "")
                if isinstance(content, list):
                    content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
                words += str(content).split()
            return words
        prompt = req.get("prompt", "")
        if isinstance(prompt, list):
            if prompt and isinstance(prompt[0], int):
                return [str(t) for t in prompt]
            prompt = " ".join(map(str, prompt))
        return str(prompt).split()

    async def generate(self, req: dict, chat: bool, writer: asyncio.StreamWriter) -> None:
        if self.sem is None:
            self.observe_queue(0.0)
            await self._generate(req, chat, writer)
            return
        t0 = time.monotonic()
        self.waiting += 1
        try:
            await self.sem.acquire()  # wait for a free slot (FIFO): this wait is queueing, inside the client's TTFT
        finally:
            self.waiting -= 1
        self.observe_queue(time.monotonic() - t0)
        try:
            await self._generate(req, chat, writer)
        finally:
            self.sem.release()

    async def _generate(self, req: dict, chat: bool, writer: asyncio.StreamWriter) -> None:
        self.inflight += 1
        self.served += 1
        rid = f"cmpl-{self.served}"
        try:
            prompt = self._prompt_words(req, chat)
            n_in = len(prompt)
            n_cached = self.cache_lookup(prompt)
            if self.cfg.prefix_cache_blocks:
                self.cache_queries += n_in
                self.cache_hits += n_cached
            n_out = int(req.get("max_completion_tokens") or req.get("max_tokens") or self.cfg.default_max_tokens)
            n_out = max(1, n_out)
            if self.log is not None:  # what the server counted, to check the prompt lengths clients claim
                self.log.write(json.dumps({"t": round(time.time(), 3), "prompt_tokens": n_in, "max_tokens": n_out,
                                           "chat": chat, "cached_tokens": n_cached}) + "\n")
                self.log.flush()
            created = int(time.time())
            obj = "chat.completion.chunk" if chat else "text_completion"
            words = [WORDS[(self.served + i) % len(WORDS)] for i in range(n_out)]
            usage: dict = {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}
            if self.cfg.prefix_cache_blocks is not None:
                usage["prompt_tokens_details"] = {"cached_tokens": n_cached}
            if not req.get("stream"):
                await asyncio.sleep(self.ttft_s(n_in, n_cached) + sum(self.itl_s() for _ in range(n_out - 1)))
                text = " ".join(words)
                choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
                          if chat else {"index": 0, "text": text, "finish_reason": "length"})
                self._send(writer, "200 OK", json.dumps({
                    "id": rid, "object": "chat.completion" if chat else "text_completion", "created": created,
                    "model": self.cfg.model, "choices": [choice], "usage": usage}).encode())
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n")

            def event(payload: dict | str) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                chunk = f"data: {data}\n\n".encode()
                writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")

            if chat:
                event({"id": rid, "object": obj, "created": created, "model": self.cfg.model,
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]})
            await writer.drain()
            await asyncio.sleep(self.ttft_s(n_in, n_cached))
            for i, word in enumerate(words):
                if i:
                    await asyncio.sleep(self.itl_s())
                text = word if i == 0 else " " + word
                last = i == n_out - 1
                choice = ({"index": 0, "delta": {"content": text}, "finish_reason": "length" if last else None}
                          if chat else {"index": 0, "text": text, "finish_reason": "length" if last else None})
                event({"id": rid, "object": obj, "created": created, "model": self.cfg.model, "choices": [choice]})
                await writer.drain()
            if (req.get("stream_options") or {}).get("include_usage"):
                event({"id": rid, "object": obj, "created": created, "model": self.cfg.model, "choices": [],
                       "usage": usage})
            event("[DONE]")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            self.inflight -= 1


async def main_async(args: argparse.Namespace) -> None:
    preset = PROFILES[args.profile]
    cfg = Config(
        model=args.model,
        base_ms=args.base_ms if args.base_ms is not None else preset["base_ms"],
        prefill_ms_per_token=(args.prefill_ms_per_token if args.prefill_ms_per_token is not None
                              else preset["prefill_ms_per_token"]),
        decode_ms_per_token=(args.decode_ms_per_token if args.decode_ms_per_token is not None
                             else preset["decode_ms_per_token"]),
        slowdown=args.slowdown if args.slowdown is not None else preset["slowdown"],
        jitter=args.jitter, default_max_tokens=args.default_max_tokens, seed=args.seed, slots=args.slots,
        prefix_cache_blocks=args.prefix_cache_blocks, block_tokens=args.block_tokens,
    )
    server = Server(cfg, args.log_requests)
    srv = await asyncio.start_server(server.handle, args.host, args.port, limit=1 << 22)
    print(json.dumps({"listening": f"{args.host}:{args.port}", **cfg.__dict__}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        pass
    srv.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default="test-model")
    p.add_argument("--profile", choices=sorted(PROFILES), default="baseline")
    p.add_argument("--base-ms", type=float)
    p.add_argument("--prefill-ms-per-token", type=float)
    p.add_argument("--decode-ms-per-token", type=float)
    p.add_argument("--slowdown", type=float, help="relative slowdown per extra request in flight")
    p.add_argument("--jitter", type=float, default=0.15, help="log-normal sigma of every delay")
    p.add_argument("--default-max-tokens", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--slots", type=int, default=0, help="at most this many requests run at once; the rest queue (0: no limit)")
    p.add_argument("--prefix-cache-blocks", type=int, default=None, metavar="N",
                   help="a prefix cache of N blocks (LRU); usage reports cached_tokens (0: no cache, field reported)")
    p.add_argument("--block-tokens", type=int, default=16, help="tokens per prefix-cache block")
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--log-requests", metavar="FILE",
                   help="append one JSON line per generation request (prompt tokens counted, max tokens) to FILE")
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("the test server only listens on the loopback address")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
