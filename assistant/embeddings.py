"""Embedding providers: a built-in offline one (the default) and OpenAI-compatible.

Both are Chroma embedding functions with a name and config, so a collection reopens
in any process, and both expose `fingerprint()` so the store can refuse to mix them.
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

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
        counts = self._vectorizer.transform(texts).astype(np.float32)
        counts.data = np.log1p(counts.data)  # damp repeated n-grams
        dense = np.asarray((counts @ self._projection).todense(), dtype=np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return dense / norms

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    def fingerprint(self) -> str:
        return fingerprint(self.embed([CANARY])[0])


@register_embedding_function
class OpenAIEmbedding(EmbeddingFunction[Documents]):
    """Any OpenAI-compatible embeddings endpoint, through langchain-openai."""

    def __init__(self, model: str = "text-embedding-3-small", base_url: str | None = None,
                 api_key: str | None = None):
        self.model = model
        self.base_url = base_url or None
        self._api_key = api_key  # never part of get_config(): the config is stored in Chroma

    @staticmethod
    def name() -> str:
        return "procurement-openai"

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"model": self.model}
        if self.base_url:
            config["base_url"] = self.base_url
        return config

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "OpenAIEmbedding":
        return OpenAIEmbedding(**config)

    def default_space(self) -> str:
        return "cosine"

    @cached_property
    def _client(self):
        from langchain_openai import OpenAIEmbeddings

        # check_embedding_ctx_length=False: the context check needs tiktoken's files,
        # which cannot be downloaded here, and our chunks are far below the limit.
        return OpenAIEmbeddings(
            model=self.model,
            base_url=self.base_url,
            api_key=self._api_key or os.environ.get("OPENAI_API_KEY") or None,
            check_embedding_ctx_length=False,
            chunk_size=256,
            max_retries=6,
            request_timeout=60,
        )

    def __call__(self, input: Documents) -> Embeddings:
        return [np.asarray(v, dtype=np.float32) for v in self._client.embed_documents(list(input))]

    def embed_query(self, input: Documents) -> Embeddings:
        return [np.asarray(self._client.embed_query(t), dtype=np.float32) for t in input]

    def fingerprint(self) -> str:
        return fingerprint(self._client.embed_query(CANARY))


def make_embedding(settings) -> EmbeddingFunction:
    """The embedding the settings ask for (`auto`: OpenAI when a key is set)."""
    if settings.use_openai_embeddings:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIEmbedding(settings.embedding_model, settings.openai_base_url, key)
    return LocalEmbedding()
