# RL Toolbox: the Streamlit app on port 8501, CPU build of PyTorch, as a non-root user.
# Base image pinned to an exact Python patch release (and Debian release): rebuilding next year
# gives the same interpreter. Bump it deliberately.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RL_TOOLBOX_DEVICE=cpu

WORKDIR /app

# The same install as the README's run command: requirements.txt names PyTorch's CPU index and the
# +cpu wheel itself, so there is no second, Docker-only way to get torch.
COPY requirements.txt packages.txt ./
# Graphviz's dot renders the C-Net and autograd graphs' SVG/PNG downloads (packages.txt: the same
# list Streamlit Community Cloud installs with apt).
RUN apt-get update && xargs -a packages.txt apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
RUN pip install -r requirements.txt \
 && useradd --create-home --uid 1000 app

# Application files belong to root and are read-only to the user the app runs as: a bug or an
# attacker in the app cannot rewrite the code it serves. (The app writes nothing under /app.)
COPY . .
RUN chmod -R a-w,a+rX /app
# The compiled PPO and DIAL kernels (Numba) are compiled here, at build time, into a cache the app user may
# extend (toolbox/warm_up.py prints the seconds each took and marks the cache warmed): a container loads
# them at start instead of compiling. Under `docker run --read-only` (give it `--tmpfs /tmp`) the app
# copies this cache into a private temporary folder; without any writable folder it trains on the
# readable paths and says why in its log.
ENV RL_TOOLBOX_NUMBA_CACHE=/opt/numba-cache
RUN python -m toolbox.warm_up \
 && chown -R app /opt/numba-cache
USER app

# Concurrent trainings follow the container's CPU quota (`docker run --cpus 2`), read from the
# cgroup by toolbox.device.training_slots; RL_TOOLBOX_MAX_TRAININGS overrides it.
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read()==b'ok' else 1)"

CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.fileWatcherType=none"]
