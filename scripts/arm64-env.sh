#!/usr/bin/env bash
# An ARM64 (aarch64) Python 3.11 with the core's wheels, run under qemu-aarch64 user mode, away from the host's Python
# (`make arm64`; 09_portability says what it is for and what was measured). Re-running it redoes only what is missing.
#   $ARM64/root  Debian's arm64 python3.11 and the libraries it loads, unpacked with dpkg -x (nothing is installed)
#   $ARM64/site  the core's aarch64 wheels (pip --target), the exact pins of constraints.txt
# torch's aarch64 wheel on the registry is a CUDA build: its libraries need CUDA's (libcudart, libcudnn, ...) to load,
# although on a machine without a GPU torch runs on the CPU alone. Those come from NVIDIA's wheels, the versions the
# registry serves (torch pins some the registry lacks): they are only loaded, never used, and nothing here depends on them.
set -euo pipefail
ARM64=${ARM64:-/work/arm64}
CONSTRAINTS=${CONSTRAINTS:-constraints.txt}
HOST_PY=${HOST_PY:-python3}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
start=$(date +%s)
command -v qemu-aarch64 >/dev/null || $SUDO apt-get install -y -q qemu-user >/dev/null
mkdir -p "$ARM64"/debs "$ARM64"/root "$ARM64"/wheels

# 1. Debian's arm64 Python, unpacked
DEBS="python3.11 python3.11-minimal libpython3.11-stdlib libpython3.11-minimal libc6 libexpat1 zlib1g libffi8 libssl3
  libbz2-1.0 liblzma5 libsqlite3-0 libncursesw6 libtinfo6 libreadline8 libuuid1 libgcc-s1 libstdc++6 libgomp1 libcrypt1
  libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2 libdb5.3 libgdbm6"
if [ ! -x "$ARM64"/root/usr/bin/python3.11 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || { $SUDO dpkg --add-architecture arm64 && $SUDO apt-get update -q >/dev/null; }
  (cd "$ARM64"/debs && apt-get download -q $(for d in $DEBS; do echo "$d:arm64"; done))
  for d in "$ARM64"/debs/*.deb; do dpkg -x "$d" "$ARM64"/root; done
fi

# 2. The core's wheels for aarch64: the distributions that fastai, torch, pandas, numpy and matplotlib bring under the pins
#    (resolved for this machine's CPU, where the registry's torch is a CPU build), each fetched for aarch64 without deps.
#    Debian 12's Python is 3.11.2: soupsieve 4.1.3 asks for 3.11.5 (it comes with beautifulsoup4; the chapter never imports it).
PLAT="--platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_26_aarch64
  --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform linux_aarch64
  --python-version 3.11.2 --ignore-requires-python --implementation cp --abi cp311 --abi abi3 --abi none --only-binary=:all:"
if [ ! -f "$ARM64"/site/.installed ]; then
  $HOST_PY -m pip install --quiet --dry-run --ignore-installed --report "$ARM64"/core.json -c "$CONSTRAINTS" \
    fastai torch pandas numpy matplotlib
  $HOST_PY -c "import json,sys; r=json.load(open(sys.argv[1]))
print('\n'.join(i['metadata']['name']+'=='+i['metadata']['version'].split('+')[0] for i in r['install']))" "$ARM64"/core.json \
    > "$ARM64"/core.txt
  CUDA_LIBS="nvidia-cuda-runtime nvidia-cuda-cupti nvidia-cudnn-cu13 nvidia-cufile nvidia-nccl-cu13 nvidia-cusparse
    nvidia-cufft nvidia-cusparselt-cu13 nvidia-curand nvidia-cublas nvidia-cuda-nvrtc nvidia-nvshmem-cu13 nvidia-nvjitlink"
  $HOST_PY -m pip install --quiet --no-deps --target "$ARM64"/site $PLAT -r "$ARM64"/core.txt $CUDA_LIBS
  touch "$ARM64"/site/.installed
fi

# 3. The registry serves no aarch64 CUPTI (nvidia-cuda-cupti is a placeholder there), which libtorch_cpu.so names as needed
#    for its profiler alone: a stub libcupti.so.13 (every function torch calls, each returning an error, built by Debian's
#    cross compiler) lets it load. torch's own files are untouched; the profiler is never used here.
CUPTI="$ARM64"/site/nvidia/cu13/lib/libcupti.so.13
if [ ! -f "$CUPTI" ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || $SUDO apt-get install -y -q --no-install-recommends gcc-aarch64-linux-gnu >/dev/null
  syms=$(readelf -W --dyn-syms "$ARM64"/site/torch/lib/libtorch_cpu.so | grep -o 'cupti[A-Za-z0-9_]*@libcupti.so.13' | sed 's/@.*//' | sort -u)
  printf 'int %s(void) { return 999; }\n' $syms > "$ARM64"/cupti-stub.c   # 999: CUPTI_ERROR_UNKNOWN
  echo 'libcupti.so.13 { global: *; };' > "$ARM64"/cupti-stub.map
  aarch64-linux-gnu-gcc -shared -fPIC -O1 -nostdlib -o "$CUPTI" -Wl,-soname,libcupti.so.13 -Wl,--version-script="$ARM64"/cupti-stub.map \
    "$ARM64"/cupti-stub.c
fi
# 4. qemu 7.2's user mode shows the guest the host's /proc/cpuinfo (an x86-64 one), on which torch's cpuinfo library
#    crashes while importing torch (SIGSEGV in cpuinfo_arm_linux_init). qemu looks an absolute path up under -L first, so
#    $ARM64/root/proc/cpuinfo stands in: an ARM64 one naming a Neoverse N1 per host core. The instruction sets that torch,
#    oneDNN and the BLAS dispatch on come from the emulated model's HWCAP (`-cpu`), not from this file.
if [ ! -f "$ARM64"/root/proc/cpuinfo ]; then
  mkdir -p "$ARM64"/root/proc
  for i in $(seq 0 $(( $(nproc) - 1 ))); do
    printf 'processor\t: %d\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n' $i
  done > "$ARM64"/root/proc/cpuinfo
fi
echo "arm64 environment ready in $(( $(date +%s) - start )) s: $ARM64"
LD_LIBRARY_PATH="$ARM64"/site/nvidia/cu13/lib PYTHONPATH="$ARM64"/site qemu-aarch64 -L "$ARM64"/root "$ARM64"/root/usr/bin/python3.11 -c \
  "import sys, platform, torch, fastai; print(platform.machine(), sys.version.split()[0], 'torch', torch.__version__, 'fastai', fastai.__version__, 'capability', torch.backends.cpu.get_cpu_capability())"
