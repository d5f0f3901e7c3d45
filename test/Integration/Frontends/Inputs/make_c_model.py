"""Imports a two-layer torch model for chain.c: argv[1] is the folder. Writes lib/ (the
import), x.bin (a random input, channels-last) and want.bin (torch's output of the whole
model, channels-last, multiplier output channel c*M+m last)."""

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

import dwmlir  # noqa: E402

out = Path(sys.argv[1])
net = nn.Sequential(
    nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32, bias=False),
    nn.BatchNorm2d(32),
    nn.ReLU6(),
    nn.Conv2d(32, 16, 1, bias=False),
    nn.BatchNorm2d(16),
    nn.Conv2d(16, 32, 5, padding="same", groups=16),
    nn.SiLU(),
)
models.randomize(net, seed=3)
x = torch.randn(1, 32, 23, 23)
m = dwmlir.from_torch(net, x, out_dir=out / "lib", name="net", jobs=2)
print(m.summary())
with torch.no_grad():
    want = net(x)
(out / "x.bin").write_bytes(np.ascontiguousarray(x.numpy().transpose(0, 2, 3, 1)).tobytes())
(out / "want.bin").write_bytes(np.ascontiguousarray(want.numpy().transpose(0, 2, 3, 1)).tobytes())
