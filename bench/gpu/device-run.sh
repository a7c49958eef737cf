#!/usr/bin/env bash
# On the GPU machine (the device tool, with .gpu carried; bench/gpu/stage.sh made it):
#   1. every cuda test, GPU required (-Dcellstate.requireGpu=true), the ONNX and PyTorch cases included
#      (the training tests, CudnnGradientConformanceTest and CudnnGradientTest, among them);
#   2. CudnnBench: the cudnn plan on the benchmark grid, per algorithm, AUTO, raw cuDNN calls;
#   3. PyTorch's nn.LSTM on the same grid (bench/gpu/pytorch_lstm.py);
#   4. CudnnTrainBench and pytorch_lstm.py --train: one training step (forward + backward) on the grid
#      and benchdnn's l1t50mb64sic500.
# Logs and JSON go to $OUT (the device tool's folder that comes back), or to ./gpu-out.
# Usage: bash bench/gpu/device-run.sh [tests|bench|train|all]   (default all)
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
what=${1:-all}
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$out/nvidia-smi.txt" 2>&1
if [ "$what" = all ] || [ "$what" = tests ]; then
  conf=(); [ -d .gpu/conformance ] && conf=(-Dcellstate.conformance=.gpu/conformance)
  bash .gpu/run.sh test -Dcellstate.requireGpu=true "${conf[@]}" --details=tree > "$out/gpu-test.log" 2>&1 || status=1
  sed 's/\x1b\[[0-9;]*m//g' "$out/gpu-test.log" | grep -v '✔$' | tail -n 60
fi
if [ "$what" = all ] || [ "$what" = bench ]; then
  bash .gpu/run.sh java io.cellstate.bench.gpu.CudnnBench --out "$out/cudnn.json" 2> >(tee "$out/cudnn-bench.log" >&2) || status=1
  python3 bench/gpu/pytorch_lstm.py --out "$out/pytorch.json" 2> >(tee "$out/pytorch.log" >&2) || status=1
fi
if [ "$what" = all ] || [ "$what" = train ]; then
  bash .gpu/run.sh java io.cellstate.bench.gpu.CudnnTrainBench --out "$out/cudnn-train.json" \
    2> >(tee "$out/cudnn-train-bench.log" >&2) || status=1
  python3 bench/gpu/pytorch_lstm.py --train --out "$out/pytorch-train.json" \
    2> >(tee "$out/pytorch-train.log" >&2) || status=1
fi
exit $status
