#!/usr/bin/env bash
# Train a recipe on every GPU of this machine (torchrun, one process per GPU), or on the CPU if there is none.
#   training/launch.sh hac-14-l16 [key=value ...]          # a packaged recipe (hac-train recipes lists them)
#   training/launch.sh my-recipe.yaml [key=value ...]      # or a recipe file of one's own
#   NNODES=2 NODE_RANK=0 MASTER_HOST=node01 training/launch.sh hac-14-l16    # on each node of a multi-node job
# Rerunning the same command resumes from runs/<recipe>/state.pt.
set -euo pipefail
recipe="${1:?usage: training/launch.sh <recipe name or yaml> [key=value ...]}"
shift
hac-train --print-config "$recipe" "$@" > /dev/null  # a bad recipe or override fails here, before torchrun starts

gpus=$(python -c "import torch; print(torch.cuda.device_count())")
if [[ "$gpus" -eq 0 ]]; then
  exec hac-train --config "$recipe" "$@"
fi
nnodes="${NNODES:-1}"
if [[ "$nnodes" -eq 1 ]]; then
  exec torchrun --standalone --nproc_per_node "$gpus" -m hac_tokenizer.training.cli --config "$recipe" "$@"
fi
exec torchrun --nnodes "$nnodes" --node_rank "${NODE_RANK:?set NODE_RANK}" --nproc_per_node "$gpus" \
  --rdzv_backend c10d --rdzv_endpoint "${MASTER_HOST:?set MASTER_HOST}:${MASTER_PORT:-29500}" \
  -m hac_tokenizer.training.cli --config "$recipe" "$@"
