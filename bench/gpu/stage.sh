#!/usr/bin/env bash
# Stages, in .gpu/ (ignored by git), what the GPU run of the cudnn backend needs on the lent GPU
# machine, which has no Java and no Maven: ../shared/gpu/stage.sh's JDK 25 image, the cuda module's
# jars and test classes, plus the bench jar (CudnnBench, CudnnTrainBench, RawCudnnLstm), gson, and the
# conformance data (ONNX and PyTorch cases). Then, with the device tool: run with carry [".gpu"] and the command
#     bash bench/gpu/device-run.sh
# (see cuda/GPU.md).
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
shared=${CELLSTATE_SHARED:-$root/../shared}
# The shared script keeps .gpu/ out of git through .git/info/exclude, which a git worktree (where .git
# is a file) does not have: there it runs from a copy that asks git where that file is
# (git rev-parse --git-path info/exclude, the common directory's). It refuses if the shared script
# no longer has the line it replaces, rather than run something else.
if [ -d .git ]; then
  "$shared/gpu/stage.sh" cuda
else
  patched=$(mktemp -d)
  trap 'rm -rf "$patched"' EXIT
  cp "$shared/gpu/run.sh" "$patched/run.sh"
  line="mkdir -p .git/info; grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude"
  grep -qxF "$line" "$shared/gpu/stage.sh" || { echo "stage.sh: $shared/gpu/stage.sh changed; stage from a normal clone" >&2; exit 2; }
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
  grep -vxF "$line" "$shared/gpu/stage.sh" > "$patched/stage.sh"
  bash "$patched/stage.sh" cuda
fi
./mvnw -q -B -o -pl bench -am package -DskipTests
cp bench/target/cellstate-bench-*[0-9T].jar .gpu/lib/
cp bench/target/lib/gson-*.jar .gpu/lib/
rm -rf .gpu/conformance
if [ -d "$shared/conformance" ]; then cp -r "$shared/conformance" .gpu/conformance; fi
du -sh .gpu | sed 's/^/staged: /'
