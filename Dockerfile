# docqa service image. Same install steps as the Makefile (`make setup`), CPU-only torch,
# the packaged MiniLM model inside the image, the index built at image build time.
# Build: docker build -t docqa .    Run: docker run -p 8000:8000 -v docqa-data:/data docqa

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends make=4.3-4.1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md Makefile ./
COPY corpus ./corpus
COPY index ./index
COPY service ./service
# The CPU wheel of torch comes from PyTorch's CPU index; PyPI's default build is the CUDA one.
RUN make setup VENV=/opt/venv TORCH_PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    DOCQA_CORPUS_DIR=/app/corpus/documents \
    DOCQA_INDEX_DIR=/data/index \
    DOCQA_DATA_DIR=/data \
    DOCQA_HOST=0.0.0.0 \
    DOCQA_PORT=8000
RUN useradd --create-home --uid 10001 docqa \
 && mkdir -p /data \
 && chown docqa:docqa /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=docqa:docqa /app /app
WORKDIR /app
USER 10001
RUN docqa build
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"]
CMD ["docqa", "serve"]
