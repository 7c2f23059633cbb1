# dreamgraph on the CPU, headless: `docker compose up` runs launch/stream.yaml with the preview on port 8080.
# GPU variant: build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124 and run with --gpus all
# (the NVIDIA Container Toolkit); the graph then dreams on CUDA (device auto).
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DREAMGRAPH_RUNTIME_DIR=/tmp/dreamgraph

RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin dreamgraph
WORKDIR /opt/dreamgraph

# torch first, from the CPU (or CUDA) index, so the project layer below rebuilds without it
RUN pip install --index-url "${TORCH_INDEX}" "torch>=2.4" "torchvision>=0.19"
COPY pyproject.toml README.md ./
COPY graph graph
COPY nodes nodes
COPY launch launch
# the default install: headless OpenCV (the slim image has no X11 or OpenGL libraries), no scikit-image
RUN pip install --extra-index-url "${TORCH_INDEX}" .

USER 1000
WORKDIR /home/dreamgraph
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s \
    CMD ["dreamgraph", "node", "list", "--seconds", "2"]
ENTRYPOINT ["dreamgraph"]
CMD ["launch", "stream", "preview_host:=0.0.0.0", "preview_token_env:=DREAMGRAPH_PREVIEW_TOKEN"]
