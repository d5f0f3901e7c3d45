"""Small networks in plain torch for the import tests (torchvision's PyPI wheels need CUDA
torch): MobileNetV2, MobileNetV3-Small and a Conformer convolution module, with random
weights and random BatchNorm statistics (so folding them is checked), in eval mode."""

from __future__ import annotations

import torch
from torch import nn


def divisible(c: float, d: int = 8) -> int:
    """torchvision's _make_divisible: channels rounded to a multiple of 8, never 10% lower."""
    v = max(d, int(c + d / 2) // d * d)
    return v + d if v < 0.9 * c else v


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type | None = nn.ReLU6):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act()) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 linear project (+ residual)."""

    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = cin * t
        self.use_res = stride == 1 and cin == cout
        layers = [conv_bn(cin, hidden, 1)] if t != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, act=None)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]

    def __init__(self, width: float = 1.0, classes: int = 10) -> None:
        super().__init__()
        cin = divisible(32 * width)
        last = divisible(1280 * max(1.0, width))
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2)]
        for t, c, n, s in self.SETTINGS:
            cout = divisible(c * width)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(last, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = nn.functional.adaptive_avg_pool2d(x, 1)
        return x * nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(s))))


class MobileNetV3Block(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, act: type, stride: int) -> None:
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = [conv_bn(cin, exp, 1, act=act)] if exp != cin else []
        layers.append(conv_bn(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(SqueezeExcite(exp, divisible(exp // 4)))
        layers.append(conv_bn(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_res else self.block(x)


class MobileNetV3Small(nn.Module):
    RE, HS = nn.ReLU, nn.Hardswish
    SETTINGS = [  # kernel, expanded, out, SE, activation, stride
        (3, 16, 16, True, RE, 2), (3, 72, 24, False, RE, 2), (3, 88, 24, False, RE, 1),
        (5, 96, 40, True, HS, 2), (5, 240, 40, True, HS, 1), (5, 240, 40, True, HS, 1),
        (5, 120, 48, True, HS, 1), (5, 144, 48, True, HS, 1), (5, 288, 96, True, HS, 2),
        (5, 576, 96, True, HS, 1), (5, 576, 96, True, HS, 1),
    ]  # fmt: skip

    def __init__(self, width: float = 1.0, classes: int = 10) -> None:
        super().__init__()
        cin = divisible(16 * width)
        layers: list[nn.Module] = [conv_bn(3, cin, 3, 2, act=nn.Hardswish)]
        for k, exp, c, se, act, s in self.SETTINGS:
            cout = divisible(c * width)
            layers.append(MobileNetV3Block(cin, k, divisible(exp * width), cout, se, act, s))
            cin = cout
        layers.append(conv_bn(cin, 6 * cin, 1, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(6 * cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class ConformerConv(nn.Module):
    """Conformer's convolution module on (batch, time, dim): LayerNorm, pointwise conv to 2*dim,
    GLU, depthwise Conv1d (K=31, 'same'), BatchNorm, SiLU, pointwise conv, dropout, residual."""

    def __init__(self, dim: int = 64, kernel: int = 31) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.pw1 = nn.Conv1d(dim, 2 * dim, 1)
        self.dw = nn.Conv1d(dim, dim, kernel, padding=(kernel - 1) // 2, groups=dim)
        self.bn = nn.BatchNorm1d(dim)
        self.act = nn.SiLU()
        self.pw2 = nn.Conv1d(dim, dim, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x).transpose(1, 2)
        y = nn.functional.glu(self.pw1(y), dim=1)
        y = self.drop(self.pw2(self.act(self.bn(self.dw(y)))))
        return x + y.transpose(1, 2)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics (not the identity a fresh BatchNorm is), eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def export_onnx(model: nn.Module, x: torch.Tensor, path: str) -> None:
    """torch.onnx.export (the dynamo exporter: onnxscript), quietly; BatchNorm is folded and
    ReLU6 becomes Clip."""
    import contextlib
    import io
    import logging
    import warnings

    logging.getLogger("torch").setLevel(logging.ERROR)
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), path, dynamo=True, verbose=False, external_data=False)


def report(net, framework: str, vector_bits=(128, 512)) -> None:
    """Each imported kernel, then each layer's check at each vector length, then the count."""
    print(net.summary())
    checks = net.check(vector_bits=list(vector_bits))
    for c in checks:
        print(
            f"{c.kernel} {c.vector_bits} {'ok' if c.ok else 'MISMATCH'} err={c.max_abs_err:.2g} tol={c.tolerance:.2g}"
        )
    print(f"{sum(c.ok for c in checks)}/{len(checks)} layer runs match {framework}")
