#!/usr/bin/env bash
# Builds the image the fmu node runs in on Docker and AWS Batch: the local python base image
# plus fmpy's runtime (fmpy, numpy, lxml, attrs), no registry needed at build time. The
# wheels are fetched once with the host's pip into a cache (PyPI is the only network use),
# then copied into a container of the base image and committed. Cached: does nothing when
# the image exists.
set -euo pipefail
IMAGE="${TWINFLOW_FMPY_IMAGE:-twinflow/fmpy:bookworm}"
BASE="${TWINFLOW_BASE_IMAGE:-twinflow/python-base:bookworm}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/twinflow-studio"
PY="${PYTHON:-python3}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "fmpy image $IMAGE: present"
  exit 0
fi
docker image inspect "$BASE" >/dev/null 2>&1 || bash "$(dirname "$0")/base-image.sh"
pyver=$(docker run --rm --network none "$BASE" python3 -c \
  'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
site="$CACHE/fmpy-site-py$pyver"
if [ ! -f "$site/.complete" ]; then
  rm -rf "$site"
  mkdir -p "$site"
  # Binary wheels for the image's Python, not the host's; fmpy's GUI, build and notebook
  # dependencies (cmake, nbformat, jinja2, lark) are not needed to simulate.
  "$PY" -m pip install --disable-pip-version-check -q --target "$site" --no-deps \
    --only-binary :all: --implementation cp --python-version "$pyver" \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform any \
    fmpy numpy lxml attrs msgpack
  touch "$site/.complete"
fi
container=$(docker create --network none "$BASE" true)
trap 'docker rm -f "$container" >/dev/null 2>&1 || true' EXIT
docker cp "$site/." "$container:/opt/twinflow-site/" >/dev/null
docker commit --change 'ENV PYTHONPATH=/opt/twinflow-site' --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' "$container" "$IMAGE" >/dev/null
docker run --rm --network none "$IMAGE" python3 -c 'import fmpy, numpy, lxml' \
  || { docker rmi "$IMAGE" >/dev/null; echo "fmpy image: fmpy does not import" >&2; exit 1; }
echo "fmpy image $IMAGE: built"
