# Would a double-precision pin make ARM64's differing kernels agree with x86-64's (09_portability)? Replays the inputs that
# `collab-fastai portability --kernels` kept (kernels-native.pt) for the named operations in float64, rounded back to
# float32, and writes the md5 of each result with the float32 one. Run it on this machine and under qemu-aarch64 with the
# ARM64 Python of `make arm64` (its folder's site on PYTHONPATH), then compare the JSON files:
#   python scripts/arm64-f64.py portability-arm64/kernels-native.pt aten.addmm.default,aten.mm.default f64-native.json
import sys, json, hashlib
from collab_fastai.numerics import set_numerics, pin_kernels; set_numerics()
import torch
from collab_fastai.portability import _unkeep, _aten, _md5s
from torch.utils._pytree import tree_map
torch.set_num_threads(1)
pin_kernels()
kept = torch.load(sys.argv[1], weights_only=False)
ops = sys.argv[2].split(',')
res = {}
for key,(name,(args,kwargs)) in kept.items():
    if name not in ops: continue
    args,kwargs = tree_map(_unkeep, (args, kwargs), is_leaf=lambda x: isinstance(x, tuple) and len(x) == 2 and x[0] == 'memory_format')
    d = lambda x: x.double() if isinstance(x, torch.Tensor) and x.dtype == torch.float32 else x
    a64,k64 = tree_map(d, (args, kwargs))
    out = _aten(name)(*a64, **k64)
    out = tree_map(lambda x: x.float() if isinstance(x, torch.Tensor) and x.dtype == torch.float64 else x, out)
    res[key] = dict(f64=_md5s(out), f32=_md5s(_aten(name)(*args, **kwargs)))
json.dump(res, open(sys.argv[3], 'w'), indent=1)
print(len(res), 'ops')
