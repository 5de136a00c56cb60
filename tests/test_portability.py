"The environment record under an emulated CPU (qemu-user): what the libraries see, which /proc/cpuinfo cannot tell."
import json, os, shutil, subprocess, sys, pytest
from collab_fastai.golden import environment_diff

ENV = ("from collab_fastai.numerics import set_numerics; set_numerics(); import json; "
       "from collab_fastai.core import environment; print(json.dumps(environment()))")

def _need_qemu():
    "Skip without qemu-x86_64, except under CI=true, whose .ci/run installs it"
    if shutil.which('qemu-x86_64'): return
    msg = "needs qemu-x86_64 (apt-get install qemu-user; make test-portability installs it)"
    if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'): pytest.fail(msg)
    pytest.skip(msg)

def _environment(*prefix):
    return json.loads(subprocess.run([*prefix, sys.executable, '-c', ENV], capture_output=True, text=True, check=True).stdout)

def test_the_record_tells_an_emulated_haswell_from_this_machine():
    _need_qemu()
    native, haswell = _environment(), _environment('qemu-x86_64', '-cpu', 'Haswell-v4')
    assert (haswell['cpu']['vendor'], haswell['cpu']['family'], haswell['cpu']['model']) == ('GenuineIntel', 6, 60)
    assert haswell['cpu']['isa'] == ['FMA', 'AVX', 'AVX2'] and haswell['numerics']['mkl']['auto_branch'] == 'AVX2'
    assert haswell['cpu_model'] == native['cpu_model']  # /proc/cpuinfo names this machine under emulation too
    fields = {k for k, *_ in environment_diff(dict(environment=haswell), dict(environment=native))}
    assert fields & {'cpu.vendor', 'cpu.model'} and 'cpu_model' not in fields

def test_mkl_refuses_avx2_on_an_emulated_amd_and_the_record_says_so():
    "MKL's guide: the AVX2 branch holds on Intel CPUs only; elsewhere MKL runs AUTO. This is why the pin is COMPATIBLE."
    _need_qemu()
    code = ENV.replace("set_numerics(); ", "set_numerics(); import os; os.environ['MKL_CBWR'] = 'AVX2,STRICT'; ")
    rome = json.loads(subprocess.run(['qemu-x86_64', '-cpu', 'EPYC-Rome', sys.executable, '-c', code],
                                     capture_output=True, text=True, check=True).stdout)
    assert rome['cpu']['vendor'] == 'AuthenticAMD' and rome['numerics']['mkl']['branch'] == 'AUTO,STRICT'
    assert 'MKL runs its AUTO,STRICT branch, not COMPATIBLE' in rome['numerics']['problems']

def test_portability_command_refuses_bad_input(cli):
    code, out, err = cli('portability', '--threads', 'one,two')
    assert code == 2 and '--threads takes comma-separated whole numbers' in err and out == ''
    _need_qemu()
    code, out, err = cli('portability', '--cpus', 'Pentium-99', '--threads', '1')
    assert code == 2 and 'does not emulate Pentium-99' in err and 'Haswell-v4' in err

def test_portability_command_refuses_bad_arm64_input(cli, tmp_path):
    "ARM64's checks need the folder of `make arm64`; the message names the command that fills it (09_portability)"
    code, out, err = cli('portability', '--full', 'collab_nn')
    assert code == 2 and 'give --arm64 DIR' in err and out == ''
    code, out, err = cli('portability', '--arm64', str(tmp_path), '--kernels', 'collab_nn')
    assert code == 2 and f'run make arm64 ARM64={tmp_path}' in err and out == ''
