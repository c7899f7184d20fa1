#!/usr/bin/env bash
# Serve a course from one machine with several app processes and one training cluster.
#
#   deploy/serve.sh [APP_PROCESSES=2] [WORKERS=2]
#
# Starts a Dask scheduler and WORKERS single-threaded training workers, then APP_PROCESSES Streamlit
# processes on ports 8501, 8502, ... all pointed at the scheduler (RL_TOOLBOX_CLUSTER), forked from
# one process that imported the app once (deploy/fork_apps.py). Put
# deploy/nginx.conf (sticky sessions) in front of the ports. On several machines: run the scheduler
# once, `dask worker` on every training machine and the app processes wherever, with the same
# RL_TOOLBOX_CLUSTER. The scheduler runs the code it is sent: keep it on a private network.
set -euo pipefail
cd "$(dirname "$0")/.."
APPS=${1:-2}
WORKERS=${2:-2}
PORT=${RL_TOOLBOX_SCHEDULER_PORT:-8786}
export RL_TOOLBOX_CLUSTER="tcp://127.0.0.1:${PORT}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the workers unpickle the toolbox's trainers
# at most 2 glibc malloc arenas per process: freed memory is not kept per thread (toolbox/memory.py)
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
dask scheduler --host 127.0.0.1 --port "$PORT" --dashboard-address 127.0.0.1:0 & pids+=($!)
sleep 2
# each worker restarts above 95 % of its memory limit (toolbox/serving/cluster.py: WORKER_MEMORY_MB)
# and spills nothing to disk (toolbox/serving/cluster.py: NO_SPILL)
DASK_DISTRIBUTED__WORKER__MEMORY__TARGET=False DASK_DISTRIBUTED__WORKER__MEMORY__SPILL=False \
OMP_NUM_THREADS=1 dask worker "$RL_TOOLBOX_CLUSTER" --nthreads 1 --nworkers "$WORKERS" \
    --memory-limit "${RL_TOOLBOX_WORKER_MEMORY_MB:-1000}MiB" --no-dashboard & pids+=($!)
# the app processes are forked from one that imported the app's modules once: they share those
# pages (~200 MB per process after the first) instead of each holding a copy (deploy/fork_apps.py)
PORTS=$(seq -s, 8501 $((8500 + APPS)))
python deploy/fork_apps.py --ports "$PORTS" -- --server.headless true & pids+=($!)
wait
