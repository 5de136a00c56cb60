"Portable numerics, the environment record, the reference numbers and `collab-fastai diff` (no training here but one epoch)."
import copy, json, os, subprocess, sys, pytest
from pathlib import Path
from collab_fastai.core import write_atomic, UsageError
from collab_fastai.numerics import PORTABLE_ENV, hardware_problems, numerics_state
from collab_fastai.golden import golden, golden_check, golden_path, diff_results, write_golden

def python(code, env=None):
    "Run `code` in a fresh Python (torch not yet loaded) with `env` added to a clean environment"
    base = {k: v for k, v in os.environ.items() if k not in PORTABLE_ENV}
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**base, **(env or {})})

def test_write_atomic_keeps_the_old_file_on_failure(tmp_path):
    write_atomic(tmp_path/'results.json', '{"old": 1}')
    def interrupted(fname):
        Path(fname).write_text('{"trunc')
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt): write_atomic(tmp_path/'results.json', interrupted)
    assert json.loads((tmp_path/'results.json').read_text()) == {'old': 1}
    assert os.listdir(tmp_path) == ['results.json']

def test_this_process_runs_portable():
    st = numerics_state()  # conftest pinned the numerics before torch loaded
    assert (st['mode'], st['portable'], st['cpu_capability'], st['problems']) == ('portable', True, 'AVX2', [])

@pytest.mark.parametrize('machine, flags, says', [
    ('aarch64', set(), 'not x86-64'), ('x86_64', {'avx'}, 'lacks AVX2 and FMA'), ('x86_64', {'avx2'}, 'lacks FMA')])
def test_hardware_without_the_portable_path(machine, flags, says):
    assert says in hardware_problems(machine, flags)[0]

def test_torch_loaded_first_is_reported_not_claimed():
    res = python("import torch, json; from collab_fastai.numerics import *; set_numerics(); print(json.dumps(numerics_state()))")
    st = json.loads(res.stdout)
    assert st['portable'] is False and st['mode'] == 'portable'
    assert 'torch was loaded before the portable settings' in st['problems'][0]
    assert res.stderr.count('\n') == 1 and res.stderr.startswith('numerics: ') and 'restart the kernel' in res.stderr

def test_portable_set_before_torch_pins_the_kernels():
    res = python("from collab_fastai.numerics import *; set_numerics(); import torch, json; pin_kernels(); print(json.dumps(numerics_state()))")
    st = json.loads(res.stdout)
    assert st['portable'] is True and st['cpu_capability'] == 'AVX2' and st['variables'] == PORTABLE_ENV and res.stderr == ''
    assert (st['mkl']['branch'], st['threads']['mkl'], st['pinned']) == ('COMPATIBLE', 1, ['batch_norm', 'sqrt'])

@pytest.mark.parametrize('code, says', [
    ("import torch; torch.set_num_threads(3); pin_kernels()", "torch runs on 3 threads; the portable numbers were checked at 1, 2, 4"),
    ("import torch; pin_kernels(); torch.set_num_threads(2)", "MKL runs on 2 threads, not 1"),
    ("import torch", "batch norm and sqrt are not pinned"),
    ("os.environ['MKL_CBWR'] = 'AVX2'; import torch; pin_kernels()", "MKL runs its"),
])
def test_what_breaks_portability_is_said(code, says):
    "A thread count not checked, MKL's threads or branch changed behind the pins, no pins: each is a problem, never a claim"
    res = python(f"import os, json; from collab_fastai.numerics import *; set_numerics(); {code}; print(json.dumps(numerics_state()))")
    st = json.loads(res.stdout)
    assert st['portable'] is False and any(says in p for p in st['problems']), st['problems']

def test_cpuid_is_what_the_libraries_see():
    "CPUID in this process agrees with torch's own dispatch (AVX2 present) and with the kernel's flags on a real CPU"
    from collab_fastai.numerics import cpu_id, cpu_flags
    c = cpu_id()
    assert c['vendor'] in ('GenuineIntel', 'AuthenticAMD', 'HygonGenuine') and c['family'] >= 6 and c['caches_kib']
    assert ('avx512f' in cpu_flags()) == ('AVX-512F' in c['isa']) and 'AVX2' in c['isa']

def test_native_takes_away_inherited_portable_settings():
    res = python("from collab_fastai.numerics import *; set_numerics('native'); import torch, json; print(json.dumps(numerics_state()))",
                 env=PORTABLE_ENV)
    st = json.loads(res.stdout)
    assert st['mode'] == 'native' and st['portable'] is False
    assert st['variables'] == {k: None for k in PORTABLE_ENV}

def test_bad_numerics_is_a_usage_error(cli):
    code, out, err = cli('reproduce', '--numerics', 'fast')
    assert code == 2 and 'choose from portable, native' in err

def results_like(gold, **changes):
    "A results dict made from the reference numbers"
    res = copy.deepcopy(gold)
    res['settings'].update(changes)
    return res

@pytest.fixture(scope='module')
def gold(): return golden()

def test_reference_numbers_are_shipped_and_portable(gold):
    assert {p: len(pr['experiments']) for p, pr in gold['profiles'].items()} == dict(book=8, fastai=8)
    assert gold['environment']['numerics']['portable'] is True
    assert all(len(e['epochs']) == 5 for pr in gold['profiles'].values() for e in pr['experiments'].values())

def test_golden_check(gold):
    assert golden_check(results_like(gold))['status'] == 'identical'
    moved = results_like(gold)
    moved['profiles']['book']['experiments']['collab_nn']['epochs'][4]['valid_loss'] += 3e-4
    moved['environment']['numerics']['cpu_capability'] = 'AVX512'
    r = golden_check(moved)
    assert r['status'] == 'differs' and 'book/collab_nn by up to 3.00e-04' in r['text'] and 'numerics.cpu_capability AVX512' in r['text']
    assert golden_check(results_like(gold, seed=2))['status'] == 'not compared'

def test_write_golden_refuses_a_native_run(gold, tmp_path):
    native = results_like(gold)
    native['environment']['numerics'].update(mode='native', portable=False)
    write_atomic(tmp_path/'results.json', json.dumps(native))
    with pytest.raises(UsageError, match='not run under portable numerics'): write_golden(tmp_path/'results.json', tmp_path/'g.json')
    write_atomic(tmp_path/'results.json', json.dumps(results_like(gold)))
    write_golden(tmp_path/'results.json', tmp_path/'g.json')
    assert diff_results(json.loads((tmp_path/'g.json').read_text()), gold)['identical']

def test_diff_command(cli, gold, tmp_path):
    same, other = tmp_path/'same.json', tmp_path/'other.json'
    write_atomic(same, json.dumps(gold))
    code, out, err = cli('diff', str(same))
    assert code == 0 and '16 of 16 shared experiments identical' in out
    changed = results_like(gold)
    changed['profiles']['fastai']['experiments']['collab_learner_nn']['epochs'][2]['train_loss'] += 1e-6
    changed['environment'].update(cpu_model='Other CPU', torch_threads=64)
    changed['environment']['numerics']['variables']['MKL_CBWR'] = None
    changed['environment']['cpu'].update(vendor='AuthenticAMD', family=23)
    changed['environment']['numerics']['mkl']['branch'] = 'AUTO,STRICT'
    write_atomic(other, json.dumps(changed))
    code, out, err = cli('diff', str(same), str(other))
    assert code == 1 and 'fastai   collab_learner_nn        differs: largest per-epoch difference 1.00e-06' in out
    assert 'book     collab_nn                identical' in out
    for field in ('cpu_model', 'torch_threads', 'numerics.variables.MKL_CBWR', 'cpu.vendor', 'cpu.family', 'numerics.mkl.branch'):
        assert field in out
    assert 'AUTO,STRICT' in out and 'AuthenticAMD' in out

@pytest.mark.parametrize('content, msg', [(None, 'does not exist'), ('{"a": 1}', 'not a results file'), ('nope', 'is not JSON'),
                                          ('{"profiles": {"book": {"experiments": {"x": {"epochs": []}}}}}', 'no experiment in common')])
def test_diff_bad_input(cli, tmp_path, content, msg):
    f = tmp_path/'a.json'
    if content is not None: f.write_text(content)
    code, out, err = cli('diff', str(f))
    assert code == 2 and msg in err and out == ''

def test_diff_needs_a_file(cli):
    code, out, err = cli('diff')
    assert code == 2 and 'required' in err
