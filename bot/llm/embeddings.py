"""Embeddings: a text's meaning as a vector, for finding memories that share no word with a message.

Two embedders, one protocol (:class:`Embedder`):

- :class:`ServerEmbedder`: the configured OpenAI-compatible server's ``/v1/embeddings`` (OpenAI, Ollama,
  llama.cpp, vLLM), used when ``LLM_EMBEDDING_MODEL`` is set (with ``LLM_BASE_URL``).
- :class:`WordLlamaEmbedder`, the default: WordLlama's ``l2_supercat`` static token embeddings (256 dimensions),
  whose weights and tokenizer ship inside the ``wordllama`` wheel. They are read here straight from the package's
  files (``safetensors`` parsed with numpy, the tokenizer with ``tokenizers``): no service, no download, and none
  of the package's own loader. That loader configures the root logger on import, and in wordllama 0.4.0 it looks
  for the tokenizer in ``wordllama/tokenizer/`` while the wheel ships it in ``wordllama/tokenizers/``: with
  ``disable_download=True`` it fails, without it it downloads the file from a model hub. A text's vector is the
  mean of its tokens' vectors, as WordLlama computes it (checked equal to 1e-7), normalised to length 1.

Work is bounded: a text is cut to :data:`MAX_EMBED_CHARS` characters before it is tokenised. The embedded model
runs in a worker thread (``asyncio.to_thread``), a batch at a time, never on the event loop.

Whatever an embedder returns is checked (:func:`checked`): a wrong count, a wrong dimension, a NaN or an
infinity raises :class:`EmbeddingError` with its ``kind``, as does any failure of the server; callers keep the
memory without a vector (full text still finds it) and log each kind once.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import itertools
import json
import logging
import math
import struct
import threading
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

MAX_EMBED_CHARS = 2_000  # a longer text is embedded by its beginning: bounded work for a 10,000-character query
GIL_SLICE = 16  # texts whose token vectors are gathered in one numpy call
BATCH = 256  # texts per call of the embedded model, or per request to a server
PER_TOKEN_BATCH = 16  # texts per request to a server that answers one vector per token
WORDLLAMA_CONFIG = "l2_supercat"
WORDLLAMA_DIM = 256


class EmbeddingError(Exception):
    """An embedding could not be had; ``kind`` names the failure (``server``, ``dimension``, ``nan``, ``count``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Embedder(Protocol):
    """Turns texts into vectors of ``dim`` floats; ``name`` identifies the model (stored beside each vector)."""

    name: str
    dim: int

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


def clip_for_embedding(text: str) -> str:
    return text[:MAX_EMBED_CHARS]


def checked(vectors: Any, count: int, dim: int) -> list[list[float]]:
    """``vectors`` as ``count`` lists of ``dim`` finite floats, or :class:`EmbeddingError`."""
    if not isinstance(vectors, list) or len(vectors) != count:
        raise EmbeddingError("count", f"expected {count} embeddings, got {_size(vectors)}")
    out: list[list[float]] = []
    for vector in vectors:
        if not isinstance(vector, list | tuple) or len(vector) != dim:
            raise EmbeddingError("dimension", f"expected {dim} dimensions, got {_size(vector)}")
        try:
            values = [float(x) for x in vector]
        except (TypeError, ValueError) as error:
            raise EmbeddingError("nan", f"an embedding holds a value that is not a number ({error})") from error
        if not all(math.isfinite(x) for x in values):
            raise EmbeddingError("nan", "an embedding holds NaN or infinite values")
        out.append(values)
    return out


def _size(value: Any) -> str:
    return str(len(value)) if isinstance(value, list | tuple) else type(value).__name__


# ------------------------------------------------------------------------------------------------ the default


def _wordllama_root() -> Path:
    """The installed ``wordllama`` package's folder, found without importing the package."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError("model", "the wordllama package is not installed (pip install wordllama)")
    return Path(next(iter(spec.submodule_search_locations)))


def _read_safetensor(path: Path, key: str) -> Any:
    """One tensor of a ``.safetensors`` file as a float32 numpy array (the format: an 8-byte little-endian header
    length, a JSON header of dtype, shape and byte offsets, then the raw data)."""
    import numpy as np

    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    info = header[key]
    dtype = {"F16": np.float16, "F32": np.float32}[info["dtype"]]
    start, end = info["data_offsets"]
    data = np.frombuffer(raw, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize, offset=8 + length + start)
    return np.ascontiguousarray(data.reshape(info["shape"]).astype(np.float32))


@functools.cache
def _wordllama(dim: int) -> tuple[Any, Any]:
    """WordLlama's weights (the first ``dim`` of each row, read-only) and tokenizer, read once per process: every
    :class:`WordLlamaEmbedder` of ``dim`` shares them (reading takes some 90 ms, parsing the tokenizer 40 of them with
    the interpreter's lock held)."""
    from tokenizers import Tokenizer

    root = _wordllama_root()
    weights = _read_safetensor(root / "weights" / f"{WORDLLAMA_CONFIG}_256.safetensors", "embedding.weight")
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / f"{WORDLLAMA_CONFIG}_tokenizer_config.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    weights = weights[:, :dim].copy()  # Matryoshka-trained: a prefix is a smaller model
    weights.flags.writeable = False
    return weights, tokenizer


class WordLlamaEmbedder:
    """The embedded default: WordLlama's shipped weights, loaded once per process (in a worker thread; the bot does it
    before its gateway connection)."""

    def __init__(self, dim: int = WORDLLAMA_DIM) -> None:
        self.dim = dim
        self.name = f"wordllama-{WORDLLAMA_CONFIG}-{dim}"
        self._lock = threading.Lock()
        self._weights: Any = None
        self._tokenizer: Any = None

    @property
    def ready(self) -> bool:
        """Whether the weights are loaded (loading reads 18 MB: a worker thread's job, never the loop's)."""
        return self._weights is not None

    def load(self) -> None:
        """Read the weights if they are not yet (a worker thread's job); :class:`EmbeddingError` (kind ``model``) when
        they cannot be."""
        with self._lock:
            if self._weights is not None:
                return
            try:
                self._read()
            except EmbeddingError:
                raise
            except Exception as error:  # a package missing or a file unreadable: no vectors, full text goes on
                raise EmbeddingError("model", f"the embedded model cannot be loaded ({error})") from error

    def _read(self) -> None:
        self._weights, self._tokenizer = _wordllama(self.dim)

    def embed_sync(self, texts: list[str]) -> Any:
        """The vectors of ``texts`` as a float32 array (rows of length 1; a text with no token gives zeros). The
        tokens' vectors are gathered and summed per text by numpy (the direction of the sum is that of the mean).
        :class:`EmbeddingError` (kind ``model``) when the model cannot be loaded."""
        import numpy as np

        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([clip_for_embedding(t) for t in texts], add_special_tokens=False)
        # numpy holds the GIL while it gathers rows: a slice of texts at a time keeps each hold short, so the event
        # loop's thread gets its turn in between (a whole batch at once held it for tens of milliseconds).
        for first in range(0, len(encodings), GIL_SLICE):
            part = encodings[first : first + GIL_SLICE]
            lengths = np.fromiter((len(e.ids) for e in part), dtype=np.int64, count=len(part))
            filled = np.flatnonzero(lengths)
            if filled.size:
                flat = np.fromiter(
                    itertools.chain.from_iterable(e.ids for e in part), dtype=np.int64, count=int(lengths.sum())
                )
                starts = np.concatenate(([0], np.cumsum(lengths[filled])[:-1]))
                out[first + filled] = np.add.reduceat(self._weights[flat], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out /= norms
        return out

    async def embed(self, texts: list[str]) -> list[list[float]]:
        result: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            array = await asyncio.to_thread(self.embed_sync, texts[start : start + BATCH])
            result.extend(array.tolist())
        return result


# ------------------------------------------------------------------------------------------------ a server


def _pooled(embedding: Any) -> list[float]:
    """One input's vector: as answered, or, where the server answered one vector per token (llama.cpp's server for
    a model with no pooling of its own, such as a chat model), their mean. What is not numbers stays as it is, for
    :func:`checked` to refuse."""
    values = list(embedding)
    if values and all(isinstance(row, list) for row in values):
        import numpy as np

        try:
            matrix = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):  # rows of different lengths, or not numbers
            return values
        if matrix.ndim == 2 and matrix.shape[0] > 0:
            return [float(x) for x in matrix.mean(axis=0)]
    return values


class ServerEmbedder:
    """An OpenAI-compatible server's ``/v1/embeddings``. ``dim`` is learnt from the first answer unless given."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        dim: int | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        import openai

        self.name = f"server:{model}"
        self.model = model
        self.dim = dim or 0
        self._per_token = False  # the server answered one vector per token (they are averaged)
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=openai.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
            max_retries=1,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        result: list[list[float]] = []
        start = 0
        while start < len(texts):
            # A server answering per token sends some fifty times the numbers: smaller requests keep each answer's
            # parsing (on the loop, in the client) short.
            size = PER_TOKEN_BATCH if self._per_token else BATCH
            chunk = [clip_for_embedding(t) or " " for t in texts[start : start + size]]
            result.extend(await self._embed_chunk(chunk))
            start += size
        return result

    async def _embed_chunk(self, chunk: list[str]) -> list[list[float]]:
        try:
            answer = await self._client.embeddings.create(model=self.model, input=chunk, encoding_format="float")
            raw = [item.embedding for item in sorted(answer.data, key=lambda item: item.index)]
            if any(embedding and isinstance(embedding[0], list) for embedding in raw):
                self._per_token = True  # averaged in a worker thread: thousands of token vectors per request
                vectors = await asyncio.to_thread(lambda: [_pooled(embedding) for embedding in raw])
            else:
                vectors = [list(embedding) for embedding in raw]
        except EmbeddingError:
            raise
        except Exception as error:  # the server's failures, whatever they are, are one kind: "server"
            raise EmbeddingError("server", f"the embeddings server failed: {type(error).__name__}: {error}") from error
        if not self.dim and vectors and isinstance(vectors[0], list):
            self.dim = len(vectors[0])
        return checked(vectors, len(chunk), self.dim)


def make_embedder(
    *, base_url: str | None, model: str | None, api_key: str | None = None, dim: int | None = None
) -> Embedder:
    """The server's embedder when an embedding model and a server are configured, else the embedded default."""
    if base_url and model:
        return ServerEmbedder(base_url, model, api_key=api_key, dim=dim)
    return WordLlamaEmbedder()


class OnceLog:
    """Logs each kind of embedding failure once per process (a failing server would otherwise fill the log)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def error(self, error: EmbeddingError) -> None:
        if error.kind in self._seen:
            return
        self._seen.add(error.kind)
        log.warning("Embeddings unavailable (%s): %s. Memories are kept and found by full text.", error.kind, error)
