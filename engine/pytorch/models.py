"""The four MNIST networks, defined exactly as the Go engine defines them.

Parameter names are part of the contract: a state_dict saved from these modules loads into the Go
engine (and the Go engine's checkpoints load here) by name, so do not rename attributes.
The shapes follow the classic PyTorch MNIST tutorials; inputs are [N, 1, 28, 28].
"""

import torch
import torch.nn.functional as F
from torch import nn

# The tutorial's optimiser settings.
LR = 0.01
MOMENTUM = 0.5


class LinearNet(nn.Module):
    """784-512-256-128-64-10 MLP with ReLU between layers."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(784, 512)
        self.l2 = nn.Linear(512, 256)
        self.l3 = nn.Linear(256, 128)
        self.l4 = nn.Linear(128, 64)
        self.l5 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(-1, 784)
        x = F.relu(self.l1(x))
        x = F.relu(self.l2(x))
        x = F.relu(self.l3(x))
        x = F.relu(self.l4(x))
        return self.l5(x)


class CNN(nn.Module):
    """The tutorial's LeNet-style net: two conv/ReLU/pool stages, then two Linear layers (no activation
    between them, as in the tutorial)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 10, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(10, 20, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Sequential(nn.Linear(320, 50), nn.Linear(50, 10))

    def forward(self, x):
        x = self.conv1(x)  # [N, 10, 12, 12]
        x = self.conv2(x)  # [N, 20, 4, 4]
        x = x.view(x.size(0), -1)  # [N, 320]
        return self.fc(x)


class InceptionA(nn.Module):
    """Four parallel branches concatenated on channels: 16 + 24 + 24 + 24 = 88 outputs.
    No ReLU inside the branches (the classic tutorial's block)."""

    out_channels = 88

    def __init__(self, in_channels):
        super().__init__()
        self.branch1x1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch5x5_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch5x5_2 = nn.Conv2d(16, 24, kernel_size=5, padding=2)
        self.branch3x3_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
        self.branch3x3_2 = nn.Conv2d(16, 24, kernel_size=3, padding=1)
        self.branch3x3_3 = nn.Conv2d(24, 24, kernel_size=3, padding=1)
        self.branch_pool = nn.Conv2d(in_channels, 24, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3 = self.branch3x3_3(self.branch3x3_2(self.branch3x3_1(x)))
        # avg_pool2d's default count_include_pad=True: border averages divide by 9, padding counted as 0.
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch5x5, branch3x3, branch_pool], dim=1)


class InceptionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.incep1 = InceptionA(10)
        self.conv2 = nn.Conv2d(InceptionA.out_channels, 20, kernel_size=5)
        self.incep2 = InceptionA(20)
        self.fc = nn.Linear(InceptionA.out_channels * 4 * 4, 10)  # 1408

    def forward(self, x):
        # Pool before ReLU, as the tutorial does (the two commute for max pooling).
        x = F.relu(F.max_pool2d(self.conv1(x), 2))  # [N, 10, 12, 12]
        x = self.incep1(x)  # [N, 88, 12, 12]
        x = F.relu(F.max_pool2d(self.conv2(x), 2))  # [N, 20, 4, 4]
        x = self.incep2(x)  # [N, 88, 4, 4]
        return self.fc(x.view(x.size(0), -1))


class ResidualBlock(nn.Module):
    """relu(x + conv2(relu(conv1(x)))) with shape-preserving 3x3 convs."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x):
        y = F.relu(self.conv1(x))
        y = self.conv2(y)
        return F.relu(x + y)


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
        self.rblock1 = ResidualBlock(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
        self.rblock2 = ResidualBlock(32)
        self.fc = nn.Linear(512, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # [N, 16, 12, 12]
        x = self.rblock1(x)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # [N, 32, 4, 4]
        x = self.rblock2(x)
        return self.fc(x.view(x.size(0), -1))  # 512 -> 10


MODELS = {
    "linear": LinearNet,
    "cnn": CNN,
    "inception": InceptionNet,
    "residual": ResidualNet,
}


def build(name):
    """Return a freshly initialised model by name (PyTorch's default init, from the global RNG)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; want one of {', '.join(MODELS)}") from None


def loss_fn():
    return nn.CrossEntropyLoss()  # mean over the batch


def optimizer(model, lr=LR, momentum=MOMENTUM):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def model_names(arg):
    """Expand a --model argument ("cnn", "cnn,linear" or "all") into a list of names."""
    names = list(MODELS) if arg == "all" else [n.strip() for n in arg.split(",") if n.strip()]
    for name in names:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}; want one of {', '.join(MODELS)} or all")
    return names
