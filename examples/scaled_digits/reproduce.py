#!/usr/bin/env python3
"""The scaled-digits experiment of the original TensorFlow port of deformable convolutions, with dcnjit.

1. Data: scikit-learn's bundled 8x8 digits (nothing is downloaded), upscaled bilinearly to 20x20 and centred
   in a 28x28 frame, as MNIST digits are. 70% train, 30% test (stratified, fixed seed). The scaled test set
   zooms each test digit about the centre by a random factor in [SCALE_MIN, SCALE_MAX] (fixed seed).
2. A 4-layer CNN (3x3 convolutions 32, 64/2, 128, 128/2, each followed by ReLU and batch norm; global average
   pooling; linear) is trained on the unscaled training digits.
3. Each of its convolutions becomes a dcnjit.torch.DeformConv2dPack with the trained weights and a
   zero-initialized offset convolution (so it starts as exactly the same network). Every weight is frozen
   (batch norm included, in eval mode) except the offset convolutions, which are trained on the training
   digits zoomed by a fresh random factor each epoch. dcnjit's cpu backend runs every deformable forward
   and backward.
4. Both networks are evaluated on the regular and the scaled test set.

Writes DIR/results.json ({"regular_cnn": {"regular": acc, "scaled": acc}, "deformable_cnn": {...}}),
DIR/sampling_locations.png (the learned sampling locations, below) and DIR/run.json (settings, wall time).

    /usr/bin/python3 examples/scaled_digits/reproduce.py --out DIR      # PYTHONPATH=build/python, or pip install .
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import dcnjit
import dcnjit.torch as dcn

SCALE_MIN, SCALE_MAX = 0.5, 1.5
FRAME, DIGIT = 28, 20
# Sampling locations are drawn for the last layer's output pixels whose class activation (the classifier's
# weights of the predicted class applied to the pixel's features: what the pixel adds to that class's
# score through the global average pool) is at least this fraction of the image's largest.
ACTIVATION_THRESHOLD = 0.9


def digits_28x28():
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [n, 1, 8, 8] in [0, 1]
    images = F.interpolate(images, size=(DIGIT, DIGIT), mode="bilinear", align_corners=False)
    margin = (FRAME - DIGIT) // 2
    return F.pad(images, (margin, margin, margin, margin)), torch.tensor(digits.target)


def zoom(images, scales):
    """Each image zoomed about its centre by its factor (> 1 enlarges), zeros outside."""
    inverse = 1.0 / scales
    theta = torch.zeros(len(images), 2, 3)
    theta[:, 0, 0] = inverse
    theta[:, 1, 1] = inverse
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_scales(count, generator):
    return SCALE_MIN + (SCALE_MAX - SCALE_MIN) * torch.rand(count, generator=generator)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        channels = [(1, 32, 1), (32, 64, 2), (64, 128, 1), (128, 128, 2)]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, stride=s, padding=1) for i, o, s in channels)
        self.norms = nn.ModuleList(nn.BatchNorm2d(o) for _, o, _ in channels)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = norm(F.relu(conv(x)))
        return self.classifier(x.mean(dim=(2, 3)))


def deformable_copy(cnn):
    """The same network with every convolution deformable (trained weights, zero offsets), all but the
    offset convolutions frozen."""
    model = CNN()
    model.load_state_dict(cnn.state_dict())
    model.convs = nn.ModuleList(dcn.DeformConv2dPack.from_conv2d(conv, backend="cpu") for conv in model.convs)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = ".conv_offset." in name
    return model


def train(model, images, labels, epochs, batch, lr, generator, augment=None, frozen_norms=False):
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    for epoch in range(epochs):
        model.train()
        if frozen_norms:
            for norm in model.norms:
                norm.eval()
        order = torch.randperm(len(images), generator=generator)
        inputs = augment(images, generator) if augment else images
        total = 0.0
        for start in range(0, len(images), batch):
            index = order[start:start + batch]
            loss = F.cross_entropy(model(inputs[index]), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(index)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / len(images):.4f}", flush=True)


@torch.no_grad()
def accuracy(model, images, labels):
    model.eval()
    correct = sum(int((model(images[i:i + 256]).argmax(1) == labels[i:i + 256]).sum())
                  for i in range(0, len(images), 256))
    return correct / len(images)


@torch.no_grad()
def sampling_locations(model, image):
    """For one image: the last layer's chosen output pixels and, per layer (last first), the input-image
    coordinates of every sampling location reached from them (9, 81, 729, 6561 points per pixel), learned
    and with zero offsets."""
    inputs, outputs = [], []

    def record(module, module_inputs, output):
        inputs.append(module_inputs[0])
        outputs.append(output)

    hooks = [conv.register_forward_hook(record) for conv in model.convs]
    model.eval()
    predicted = int(model(image[None]).argmax())
    for hook in hooks:
        hook.remove()
    features = model.norms[-1](F.relu(outputs[-1]))[0]  # [128, 7, 7]: what the pool averages
    activation = torch.einsum("c,chw->hw", model.classifier.weight[predicted], features)
    chosen = (activation >= ACTIVATION_THRESHOLD * activation.max()).nonzero().tolist()

    # Image pixels per unit of each layer's input map: the product of the strides before it.
    scale_before, factor = [], 1
    for conv in model.convs:
        scale_before.append(factor)
        factor *= conv.stride[0]

    layers = []
    for learned in (True, False):
        points = np.array(chosen, dtype=np.float64)  # output pixels of the last layer, (y, x)
        per_layer = []
        for index in reversed(range(len(model.convs))):
            conv = model.convs[index]
            offset = conv.offset_and_mask(inputs[index])[0][0].numpy() if learned else None
            height, width = inputs[index].shape[2:]
            out_h, out_w = outputs[index].shape[2:]
            cells = np.clip(np.rint(points).astype(int), 0, [out_h - 1, out_w - 1])
            reached = []
            for ho, wo in cells:
                for i in range(3):
                    for j in range(3):
                        tap = i * 3 + j
                        dy, dx = (offset[2 * tap, ho, wo], offset[2 * tap + 1, ho, wo]) if learned else (0.0, 0.0)
                        reached.append((ho * conv.stride[0] - conv.padding[0] + i * conv.dilation[0] + dy,
                                        wo * conv.stride[1] - conv.padding[1] + j * conv.dilation[1] + dx))
            points = np.array(reached)
            # Continue from each location in this layer's input (= the previous layer's output).
            per_layer.append(points * scale_before[index])
            points = np.clip(points, 0, [height - 1, width - 1])
        layers.append(per_layer)
    last_stride = scale_before[-1] * model.convs[-1].stride[0]
    return np.array(chosen) * last_stride, layers[0], layers[1]


def draw(model, images, scales, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = len(model.convs)
    figure, axes = plt.subplots(len(images), columns, figsize=(2.3 * columns, 2.5 * len(images)), squeeze=False)
    for row, (image, scale) in enumerate(zip(images, scales)):
        chosen, learned, regular = sampling_locations(model, image)
        for column in range(columns):
            axis = axes[row][column]
            axis.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
            layer = columns - column
            size = (14, 6, 2.5, 1.2)[column]  # 9, 81, 729, 6561 points per chosen pixel
            axis.scatter(regular[column][:, 1], regular[column][:, 0], s=size, c="deepskyblue", alpha=0.5,
                         linewidths=0)
            axis.scatter(learned[column][:, 1], learned[column][:, 0], s=size, c="red", alpha=0.5, linewidths=0)
            axis.scatter(chosen[:, 1], chosen[:, 0], s=40, marker="x", c="yellow", linewidths=1.5)
            axis.set_xlim(-0.5, FRAME - 0.5)
            axis.set_ylim(FRAME - 0.5, -0.5)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(f"through layer {layer}" if layer < columns else f"layer {columns}", fontsize=9)
            if column == 0:
                axis.set_ylabel(f"zoom {scale:.2f}, {len(chosen)} px", fontsize=9)
    figure.suptitle(f"Sampling locations, learned (red) and regular (blue), of the last layer's output pixels (x) "
                    f"whose class activation is >= {ACTIVATION_THRESHOLD:.2f} x its maximum", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    figure.savefig(path, dpi=72)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=pathlib.Path, help="output directory")
    parser.add_argument("--quick", action="store_true", help="a shortened run (the test suite's): fewer epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    generator = torch.Generator().manual_seed(args.seed)
    regular_epochs, deformable_epochs = (2, 1) if args.quick else (12, 12)

    images, labels = digits_28x28()
    train_index, test_index = train_test_split(np.arange(len(images)), test_size=0.3, stratify=labels.numpy(),
                                               random_state=args.seed)
    train_images, train_labels = images[train_index], labels[train_index]
    test_images, test_labels = images[test_index], labels[test_index]
    test_scales = random_scales(len(test_images), torch.Generator().manual_seed(args.seed + 1))
    scaled_test_images = zoom(test_images, test_scales)

    print(f"regular CNN: {regular_epochs} epochs on {len(train_images)} unscaled digits", flush=True)
    cnn = CNN()
    train(cnn, train_images, train_labels, regular_epochs, batch=32, lr=2e-3, generator=generator)
    regular_done = time.perf_counter()

    print(f"deformable CNN: {deformable_epochs} epochs of the offset convolutions on zoomed digits "
          f"(factors {SCALE_MIN}-{SCALE_MAX})", flush=True)
    deformable = deformable_copy(cnn)

    def augment(batch_images, g):
        return zoom(batch_images, random_scales(len(batch_images), g))

    train(deformable, train_images, train_labels, deformable_epochs, batch=32, lr=1e-3, generator=generator,
          augment=augment, frozen_norms=True)
    deformable_done = time.perf_counter()

    results = {
        "regular_cnn": {"regular": accuracy(cnn, test_images, test_labels),
                        "scaled": accuracy(cnn, scaled_test_images, test_labels)},
        "deformable_cnn": {"regular": accuracy(deformable, test_images, test_labels),
                           "scaled": accuracy(deformable, scaled_test_images, test_labels)},
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")

    # The picture: a small, a medium and a large zoom of test digits.
    picks = [int((test_scales - target).abs().argmin()) for target in (0.6, 1.0, 1.4)]
    draw(deformable, scaled_test_images[picks], [float(test_scales[i]) for i in picks],
         args.out / "sampling_locations.png")

    finished = time.perf_counter()
    run = {"quick": args.quick, "seed": args.seed, "regular_epochs": regular_epochs,
           "deformable_epochs": deformable_epochs, "train_digits": len(train_images), "test_digits": len(test_images),
           "scale_range": [SCALE_MIN, SCALE_MAX], "activation_threshold": ACTIVATION_THRESHOLD,
           "threads": torch.get_num_threads(), "dcnjit_backend": "cpu",
           "seconds": {"regular_training": round(regular_done - started, 1),
                       "deformable_training": round(deformable_done - regular_done, 1),
                       "total": round(finished - started, 1)}}
    (args.out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"wall time {finished - started:.1f} s; wrote {args.out}/results.json, sampling_locations.png, run.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
