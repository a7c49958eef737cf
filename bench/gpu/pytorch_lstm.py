#!/usr/bin/env python3
"""PyTorch's nn.LSTM forward on the GPU, timed with CUDA events: the peer of the cudnn backend.

Float32, TF32 off (torch.backends.cudnn.allow_tf32 = False, matmul too), inference
(torch.inference_mode, eval), input, h0 and c0 already on the device, sequence-major
[T, B, I] as nn.LSTM takes by default. For each shape: warm up, then `--repeats` runs of
`--iters` forwards each between two CUDA events; the figure is the median over runs of
(elapsed / iters), with the min and max beside it.

Run on the GPU machine (bench/gpu/device-run.sh does, beside the Java harness):
    python3 bench/gpu/pytorch_lstm.py --out pytorch.json
The shape grid is the CPU benchmarks' one: T = 100, one layer, unidirectional, I = H.

With --train, one training step instead, the peer of io.cellstate.bench.gpu.CudnnTrainBench: nn.LSTM
in train mode, forward from h0 and c0, then torch.autograd.backward of (y, hn, cn) with fixed random
dy, dhn, dcn, which computes dx, dh0, dc0 and every parameter's .grad (set to None before each step,
so each step writes them afresh, as the Java harness's OVERWRITE does). Two variants: "train", the
gradients left on the GPU (PyTorch's own use), and "train-host-grads", the parameter gradients also
copied to the host each step (what the cudnn backend's RnnWeightGrads, host memory, costs it).
Shapes (T, B, H): the grid at T = 100 and benchdnn's l1t50mb64sic500 (T = 50, B = 64, I = H = 500).
    python3 bench/gpu/pytorch_lstm.py --train --out pytorch-train.json
"""
import argparse, json, statistics, sys, time

import torch

GRID = [(1, 256), (1, 512), (1, 1024), (16, 512), (64, 512), (256, 1024)]
TRAIN_SHAPES = [(100, b, h) for b, h in GRID] + [(50, 64, 500)]


def time_shape(b, h, t, iters, repeats, warmup):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size=h, hidden_size=h, num_layers=1).cuda().eval()
    x = torch.randn(t, b, h, device="cuda")
    h0 = torch.zeros(1, b, h, device="cuda")
    c0 = torch.zeros(1, b, h, device="cuda")
    with torch.inference_mode():
        for _ in range(warmup):
            lstm(x, (h0, c0))
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        per_call = []
        for _ in range(repeats):
            start.record()
            for _ in range(iters):
                y, _ = lstm(x, (h0, c0))
            end.record()
            end.synchronize()
            per_call.append(start.elapsed_time(end) / iters)
    return {"backend": "pytorch", "batch": b, "hidden": h, "input": h, "steps": t,
            "ms": statistics.median(per_call), "ms_min": min(per_call), "ms_max": max(per_call),
            "runs": len(per_call), "iters": iters}


def time_train_shape(t, b, h, iters, repeats, warmup, host_grads):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size=h, hidden_size=h, num_layers=1).cuda().train()
    x = torch.randn(t, b, h, device="cuda", requires_grad=True)
    h0 = torch.randn(1, b, h, device="cuda", requires_grad=True)
    c0 = torch.randn(1, b, h, device="cuda", requires_grad=True)
    dy = torch.randn(t, b, h, device="cuda")
    dhn = torch.randn(1, b, h, device="cuda")
    dcn = torch.randn(1, b, h, device="cuda")
    params = list(lstm.parameters())

    def step():
        for p in params:
            p.grad = None
        x.grad = h0.grad = c0.grad = None
        y, (hn, cn) = lstm(x, (h0, c0))
        torch.autograd.backward([y, hn, cn], [dy, dhn, dcn])
        if host_grads:
            torch.cat([p.grad.reshape(-1) for p in params]).cpu()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    per_step = []
    for _ in range(repeats):
        start.record()
        for _ in range(iters):
            step()
        end.record()
        end.synchronize()
        per_step.append(start.elapsed_time(end) / iters)
    return {"backend": "pytorch", "variant": "train-host-grads" if host_grads else "train", "batch": b, "hidden": h,
            "input": h, "steps": t, "ms": statistics.median(per_step), "ms_min": min(per_step),
            "ms_max": max(per_step), "runs": len(per_step), "iters": iters}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="-")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--train", action="store_true", help="time a training step (forward + backward)")
    a = p.parse_args()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    meta = {"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
            "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timing": "CUDA events, median over runs of elapsed/iters"}
    rows = []
    if a.train:
        meta["mode"] = "training step: forward (train mode) + autograd backward of y, hn, cn; h0, c0, x require grad"
        for t, b, h in TRAIN_SHAPES:
            for host_grads in (False, True):
                r = time_train_shape(t, b, h, max(3, a.iters // 5), a.repeats, max(3, a.warmup // 4), host_grads)
                print(f"pytorch {r['variant']:16s} T={t:3d} B={b:4d} H={h:5d}: {r['ms']:.4f} ms/step"
                      f" (min {r['ms_min']:.4f}, max {r['ms_max']:.4f})", file=sys.stderr)
                rows.append(r)
    else:
        for b, h in GRID:
            r = time_shape(b, h, a.steps, a.iters, a.repeats, a.warmup)
            print(f"pytorch B={b:4d} H={h:5d}: {r['ms']:.4f} ms (min {r['ms_min']:.4f}, max {r['ms_max']:.4f})",
                  file=sys.stderr)
            rows.append(r)
    text = json.dumps({"meta": meta, "results": rows}, indent=1)
    if a.out == "-":
        print(text)
    else:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
