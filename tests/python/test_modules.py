"""The nn.Modules: DeformConv2d against torchvision.ops.DeformConv2d (same initialization, same forward, same
training step), DeformConv2dPack as a drop-in for nn.Conv2d (zero offsets at first: exactly the convolution),
ModulatedDeformConv2dPack (sigmoid mask, 0.5 at first), and a training step of each."""

import pytest
import torch
import torchvision
from torch import nn

import dcnjit
import dcnjit.torch as dcn


def seeded(factory, seed=0):
    torch.manual_seed(seed)
    return factory()


def test_deform_conv2d_initialization_matches_torchvision():
    ours = seeded(lambda: dcn.DeformConv2d(6, 4, (3, 2), stride=2, padding=1, dilation=1, groups=2))
    theirs = seeded(lambda: torchvision.ops.DeformConv2d(6, 4, (3, 2), stride=2, padding=1, dilation=1, groups=2))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    no_bias = dcn.DeformConv2d(4, 4, 3, bias=False)
    assert no_bias.bias is None and "bias=False" in repr(no_bias)


def test_deform_conv2d_training_step_matches_torchvision():
    ours = seeded(lambda: dcn.DeformConv2d(4, 6, 3, padding=1, groups=2).double())
    theirs = seeded(lambda: torchvision.ops.DeformConv2d(4, 6, 3, padding=1, groups=2).double())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 6, 6, generator=g, dtype=torch.float64)
    offset = torch.randn(2, 2 * 2 * 9, 6, 6, generator=g, dtype=torch.float64)  # 2 offset groups
    mask = torch.rand(2, 2 * 9, 6, 6, generator=g, dtype=torch.float64)
    target = torch.randn(2, 6, 6, 6, generator=g, dtype=torch.float64)
    for module in (ours, theirs):
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        loss = nn.functional.mse_loss(module(x, offset, mask), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("bias", [True, False])
def test_pack_starts_as_the_convolution_it_replaces(bias):
    conv = seeded(lambda: nn.Conv2d(3, 5, 3, stride=2, padding=1, bias=bias))
    layer = dcn.DeformConv2dPack.from_conv2d(conv)
    x = torch.randn(2, 3, 9, 8)
    torch.testing.assert_close(layer(x), conv(x), rtol=1e-5, atol=1e-5)
    assert torch.equal(layer.conv_offset.weight, torch.zeros_like(layer.conv_offset.weight))
    assert layer.conv_offset.out_channels == 18 and layer.conv_mask is None


def test_pack_is_a_one_line_swap_for_conv2d():
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding="same"))
    deformable = nn.Sequential(plain[0], nn.ReLU(), dcn.DeformConv2dPack.from_conv2d(plain[2]))
    x = torch.randn(3, 1, 7, 7)
    torch.testing.assert_close(deformable(x), plain(x), rtol=1e-5, atol=1e-5)


def test_pack_training_step_moves_the_offsets():
    torch.manual_seed(0)
    layer = dcn.DeformConv2dPack(3, 4, 3, padding=1, offset_groups=3)
    x = torch.randn(2, 3, 6, 6)
    target = torch.randn(2, 4, 6, 6)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    before = {name: p.detach().clone() for name, p in layer.named_parameters()}
    losses = []
    for _ in range(3):
        loss = nn.functional.mse_loss(layer(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert layer.conv_offset.weight.grad.abs().sum() > 0  # offsets receive a gradient through dcnjit
    for name, p in layer.named_parameters():
        assert not torch.equal(p, before[name]), f"{name} did not change"
    assert losses[-1] < losses[0]


def test_modulated_pack_mask_is_a_sigmoid_starting_at_one_half():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)
    layer = dcn.ModulatedDeformConv2dPack.from_conv2d(conv)
    assert layer.modulated and layer.conv_mask.out_channels == 9
    x = torch.randn(2, 3, 6, 6)
    offset, mask = layer.offset_and_mask(x)
    assert torch.equal(mask, torch.full_like(mask, 0.5)) and torch.equal(offset, torch.zeros_like(offset))
    expected = 0.5 * nn.functional.conv2d(x, conv.weight, None, padding=1) + conv.bias[:, None, None]
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)

    # A training step reaches every parameter, the mask convolution included.
    target = torch.randn(2, 4, 6, 6)
    loss = nn.functional.mse_loss(layer(x), target)
    loss.backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    reference = torchvision.ops.deform_conv2d(x, offset, layer.weight, layer.bias, padding=1, mask=mask)
    torch.testing.assert_close(layer(x), reference, rtol=1e-5, atol=1e-5)


def test_channels_last_model_runs_on_sim():
    # model.to(memory_format=channels_last) makes the weights channels_last too: they are made contiguous
    # for the C++ API; the activations stay channels_last end to end.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1),
                          dcn.DeformConv2dPack(3, 3, 3, padding=1, backend="sim")).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    y = model(x_cl)
    assert y.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)
    y.sum().backward()
    assert model[1].weight.grad is not None


def test_invalid_module_arguments():
    with pytest.raises(ValueError, match="in_channels: 5 is not divisible by groups = 2"):
        dcn.DeformConv2d(5, 4, 3, groups=2)
    with pytest.raises(ValueError, match="offset_groups: 2 does not divide in_channels = 3"):
        dcn.DeformConv2dPack(3, 4, 3, offset_groups=2)
    with pytest.raises(ValueError, match="padding_mode 'reflect'"):
        dcn.DeformConv2dPack.from_conv2d(nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"))
    assert isinstance(dcnjit.InvalidArgumentError("x"), ValueError)
