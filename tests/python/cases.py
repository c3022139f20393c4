"""Random deformable-convolution arguments for the tests (torch tensors, fixed seeds)."""

import dataclasses

import torch


@dataclasses.dataclass
class Case:
    N: int = 2
    C: int = 4
    H: int = 7
    W: int = 6
    Co: int = 6
    k: tuple = (3, 3)
    stride: tuple = (1, 1)
    padding: tuple = (1, 1)
    dilation: tuple = (1, 1)
    groups: int = 1
    offset_groups: int = 1
    mask: bool = True
    bias: bool = True

    def out_size(self):
        return tuple((size + 2 * p - (d * (k - 1) + 1)) // s + 1 for size, p, d, k, s in
                     zip((self.H, self.W), self.padding, self.dilation, self.k, self.stride))

    def tensors(self, dtype=torch.float64, seed=0, offset_scale=2.0, requires_grad=False):
        """input, offset, weight, bias, mask (bias/mask None when the case has none). Offsets are random
        fractions (never on a cell border) reaching outside the image, so every boundary path is taken."""
        g = torch.Generator().manual_seed(seed)
        ho, wo = self.out_size()
        taps = self.k[0] * self.k[1]
        tensors = [
            torch.randn(self.N, self.C, self.H, self.W, generator=g, dtype=torch.float64),
            offset_scale * torch.randn(self.N, 2 * self.offset_groups * taps, ho, wo, generator=g, dtype=torch.float64),
            torch.randn(self.Co, self.C // self.groups, *self.k, generator=g, dtype=torch.float64),
            torch.randn(self.Co, generator=g, dtype=torch.float64) if self.bias else None,
            torch.rand(self.N, self.offset_groups * taps, ho, wo, generator=g, dtype=torch.float64) if self.mask
            else None,
        ]
        return [None if t is None else t.to(dtype).requires_grad_(requires_grad) for t in tensors]

    def geometry(self):
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}


CASES = {
    "mask_bias_pad1": Case(),
    "nomask_nobias": Case(mask=False, bias=False, padding=(0, 0), H=6, W=8),
    "groups2_offset_groups2": Case(C=4, Co=4, groups=2, offset_groups=2),
    "stride2_dilation2_kernel2x3": Case(H=9, W=8, k=(2, 3), stride=(2, 1), dilation=(2, 2), padding=(1, 2)),
    "offset_groups3_batch3": Case(N=3, C=6, Co=3, offset_groups=3, mask=True, bias=False),
    "kernel1x1_stride2": Case(k=(1, 1), stride=(2, 2), padding=(0, 0), H=8, W=8),
}
