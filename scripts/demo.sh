#!/usr/bin/env bash
# The main job on the embedded default profile. Run through `make demo`.
set -euo pipefail
mkdir -p data
export PREFECT_HOME="${PREFECT_HOME:-$PWD/data/prefect}"
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-disabled}"   # a local, single-user Ray
hubscout doctor
dvc repro world  # the synthetic world the starter hub learns (skipped when current)

# The platform, up before the hub trains: the registry service, the worker (with its local
# Prefect server) and the MLflow UI, each stopped by its process id at the end.
# Registrations go to the worker as events; the service keeps them in its outbox until
# Prefect answers.
port="${HUBSCOUT_DEMO_PORT:-8700}"
prefect_port="${HUBSCOUT_DEMO_PREFECT_PORT:-4200}"
mlflow_port="${HUBSCOUT_DEMO_MLFLOW_PORT:-5000}"
registry="http://127.0.0.1:$port"
# Writes need a token: a random one, kept (owner-only) in data/registry-token across runs.
if [ -z "${HUBSCOUT_REGISTRY_TOKEN:-}" ]; then
  [ -s data/registry-token ] || (umask 077; python -c 'import secrets; print(secrets.token_hex(24))' > data/registry-token)
  HUBSCOUT_REGISTRY_TOKEN="$(cat data/registry-token)"
  echo "registry write token: in data/registry-token (export HUBSCOUT_REGISTRY_TOKEN=\$(cat data/registry-token))"
fi
export HUBSCOUT_REGISTRY_TOKEN
hubscout worker --prefect-port "$prefect_port" > data/worker.log 2>&1 &
worker=$!
HUBSCOUT_PREFECT_API_URL="http://127.0.0.1:$prefect_port/api" \
  hubscout serve --port "$port" > data/registry-service.log 2>&1 &
service=$!
# no job execution: its 7 consumer processes (~280 MB each) serve GenAI features we do not use
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid mlflow ui --backend-store-uri "sqlite:///$PWD/data/mlflow.db" --host 127.0.0.1 \
  --port "$mlflow_port" > data/mlflow-ui.log 2>&1 &
mlflow_ui=$!   # its own process group, with the server's workers
follower=""
first_answer=""
stop() {
  kill $follower $first_answer "$service" "$worker" 2>/dev/null || true
  kill -- -"$mlflow_ui" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break
  sleep 0.5
done

echo "registry API: $registry/docs (up $SECONDS s into the demo)"

# The starter hub trains; each model enters the registry like any model the moment its
# checkpoint is written, and the worker labels it, so /select answers with the first
# ready VLMs while the rest train. Generators wait (parked) for the reference encoder
# that the identification benchmark chooses.
hubscout models register-starter --follow --registry "$registry" &
follower=$!
(
  until hubscout select "scarlet, navy blue, olive green" --k 2 --registry "$registry" \
    > data/first-selection.txt 2>/dev/null; do sleep 10; done
  echo "first /select answer, $SECONDS s into the demo:" && cat data/first-selection.txt
) &
first_answer=$!
dvc repro starter_hub
wait "$follower"
follower=""
hubscout models wait --timeout 1800 --registry "$registry"
hubscout select "scarlet, navy blue, olive green" --k 2 --registry "$registry"

# The identification benchmark first: it chooses the encoders that embed the specifications;
# once the choice is published the per-model job specifies the parked generators (from the
# specs the stage stored), so the whole hub is ready before the other benchmarks run.
dvc repro identification
python -m flows.publish_hub identification
hubscout models wait --timeout 900 --registry "$registry"
# The other benchmarks, on the complete hub (they rank the labels the worker stored); their
# summaries are published when they finish.
dvc repro
dvc push         # to the local DVC remote (dvc-remote/)
python -m flows.publish_hub
hubscout hub summary
hubscout rank swatches --metric logme,sfda,knn
hubscout models list --status ready --registry "$registry"
hubscout select "scarlet, navy blue, olive green" --k 2 --registry "$registry"

# A model from outside the starter hub: a checkpoint file with a card that names a sample of
# its training images, registered over HTTP; the worker's flow that the registration's event
# triggers labels it, builds its RKME spec and scores it on the transferability tasks; it is
# then selected with a new hub version.
mkdir -p data/user-models
cp data/hub/vlm/vlm-colours.safetensors data/user-models/my-clip.safetensors
arch=$(python -c 'import json; print(next(m["architecture"] for m in json.load(open("data/hub/manifest.json"))["models"] if m["name"] == "vlm-colours"))')
python - "$arch" <<'PY'
import sys
from pathlib import Path

import numpy as np

from hubscout.data.store import World
from hubscout.identification.slices import training_indices
from hubscout.models.cards import ModelCard, write_card
from hubscout.starter.catalog import VLMS

folder = Path("data/user-models").resolve()
world = World(Path("data/world"))
slice_ = training_indices(next(s for s in VLMS if s.name == "vlm-colours"), world)
np.savez(folder / "my-clip-sample.npz", images=world.pool_images[slice_[-300:]])
checkpoint = folder / "my-clip.safetensors"
write_card(checkpoint, ModelCard(
    name="my-clip", kind="vlm", architecture=sys.argv[1],
    source=f"open_clip:{sys.argv[1]}@{checkpoint}", license="MIT",
    training_sample="my-clip-sample.npz",
))
PY
hubscout models register my-clip "open_clip:$arch@$PWD/data/user-models/my-clip.safetensors" \
  --license MIT --tag demo --registry "$registry"
status=""
for _ in $(seq 300); do   # at most 10 minutes
  now=$(curl -sf "$registry/models/my-clip" | python -c 'import json, sys; print(json.load(sys.stdin)["model"]["status"])')
  [ "$now" != "$status" ] && echo "my-clip: $now ($SECONDS s into the demo)" && status="$now"
  [ "$status" = ready ] || [ "$status" = failed ] && break
  sleep 2
done
[ "$status" = ready ] || { echo "my-clip was not labeled: see data/worker.log" >&2; exit 1; }
python - "$registry" <<'PY'
import json
import sys
import urllib.request

model = json.load(urllib.request.urlopen(f"{sys.argv[1]}/models/my-clip"))["model"]
for spec in model["specifications"]:
    print(f"my-clip spec: {spec['spec_kind']} {spec['version']} (encoder {spec['encoder']})")
rows = [r for r in model["benchmark_rows"] if r["benchmark"] == "transferability"]
print(f"my-clip on {len(rows)} transferability tasks (linear-probe accuracy, LogME), first 4:")
for row in rows[:4]:
    print(f"  {row['task']:<16} {row['accuracy']:.3f}  {row['logme']:.3f}")
PY
hubscout select "crimson, navy, olive" --k 2 --license MIT --registry "$registry"

# A composed pipeline (the digits pathway the pathway_benchmark stage saved) enters the
# registry like any model; the registry records the starter models it runs (lineage).
hubscout models register digits-pathway-k2 "pipeline:$PWD/data/pipelines/digits-pathway-k2" \
  --tag demo --registry "$registry"
hubscout models wait --timeout 300 --registry "$registry"
hubscout models show digits-pathway-k2 --registry "$registry"
python - <<'PY'
from pathlib import Path

from PIL import Image

from hubscout.data.store import World

folder = Path("data/demo-images")
folder.mkdir(exist_ok=True)
test = World(Path("data/world")).split("digits", "test")
for index in (0, 60, 120):
    Image.fromarray(test.images[index]).save(folder / f"digit-{test.labels[index]}.png")
PY
hubscout pipeline predict data/pipelines/digits-pathway-k2 data/demo-images/*.png
curl -sf "http://127.0.0.1:$port/benchmarks/selection" | python -c \
  'import json, sys; d = json.load(sys.stdin); s = d["document"]["summary"]; print("selection benchmark (hub version", d["hub_version"], "): held-out rel@1", s["rel1_selection"], "vs generalist", s["rel1_generalist"])'

echo
echo "registry API:  $registry/docs"
echo "Prefect UI:    http://127.0.0.1:$prefect_port (flow runs of the worker's deployments)"
echo "MLflow UI:     http://127.0.0.1:$mlflow_port (experiments; Models: the hub)"
if [ "${HUBSCOUT_DEMO_EXIT:-0}" = 1 ]; then
  exit 0
fi
echo "serving until Ctrl-C"
trap 'exit 0' INT TERM
wait "$service"
