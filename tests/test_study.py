"The study runner (34_study): N runs at once with the bits of one after another, nothing redone after an interruption, Dask past one machine"
import json, os, re, signal, subprocess, sys, time
from pathlib import Path
import pytest
from collab_fastai.scale.datasets import synthetic_ratings
from collab_fastai.reproduce import reproduce
from collab_fastai.study import StudyError, run_study, timeless
import collab_fastai.study as st

BIN = Path(sys.executable).parent
TWO = dict(experiments=['dot_product_bias', 'collab_nn'], profile='both', epochs=2, seeds=3)

@pytest.fixture(scope='module')
def small():
    return synthetic_ratings(n_ratings=4000, n_users=120, n_items=150)

def _numbers(res:dict)->dict:
    "What must be bit-identical between two studies: every loss and verdict, not the wall times or the environment"
    return timeless({k: v for k,v in res.items() if k not in ('environment', 'study')})

@pytest.fixture(scope='module')
def one_by_one(small, tmp_path_factory):
    return reproduce(**TWO, out=tmp_path_factory.mktemp('jobs1'), ratings=small, say=lambda s: None)

def test_two_jobs_give_the_bits_of_one(small, one_by_one, tmp_path):
    lines = []
    res = reproduce(**TWO, out=tmp_path, ratings=small, jobs=2, say=lines.append)
    assert _numbers(res) == _numbers(one_by_one)
    assert res['profiles']['book']['experiments']['collab_nn']['seeds']['runs'][2] == \
           one_by_one['profiles']['book']['experiments']['collab_nn']['seeds']['runs'][2]
    assert len([l for l in lines if re.match(r'\[\d+/12\] ', l)]) == 12 and any(l.startswith('[12/12] ') for l in lines)
    assert len(list((tmp_path/'runs').glob('*.json'))) == 12

def test_finished_runs_are_reused_and_other_settings_or_versions_are_not(small, one_by_one, tmp_path, monkeypatch):
    specs = [dict(name='dot_product', profile='book', seed=s, epochs=1, loader='fast') for s in (1, 2)]
    said = []
    first = run_study('collab_fastai.reproduce:train_run', specs, small, tmp_path, say=said.append)
    said.clear()
    again = run_study('collab_fastai.reproduce:train_run', specs + [dict(specs[0], epochs=2)], small, tmp_path, say=said.append)
    assert said[0].startswith('reused 2 finished runs of 3') and len(said) == 2  # the run of 2 epochs trained
    assert [r['result'] for r in again[:2]] == [r['result'] for r in first]
    said.clear()
    run_study('collab_fastai.reproduce:train_run', specs, small.iloc[:-1], tmp_path, say=said.append)  # other data
    assert not said[0].startswith('reused')
    real = st.versions()
    monkeypatch.setattr(st, 'versions', lambda: {**real, 'torch': 'another'})
    said.clear()
    run_study('collab_fastai.reproduce:train_run', specs, small, tmp_path, say=said.append)  # other versions
    assert not said[0].startswith('reused')
    monkeypatch.undo()
    said.clear()
    run_study('collab_fastai.reproduce:train_run', specs, small, tmp_path, fresh=True, say=said.append)
    assert not said[0].startswith('reused') and len(said) == 2  # --fresh: both trained again

KILLED = '''
import sys
sys.path[:0] = [{src!r}]
from collab_fastai.numerics import set_numerics; set_numerics()
from collab_fastai.scale.datasets import synthetic_ratings
from collab_fastai.reproduce import reproduce
reproduce(['dot_product_bias'], 'book', epochs=3, seeds=8, out={out!r}, ratings=synthetic_ratings(n_ratings=20000, n_users=400, n_items=500), jobs={jobs})
'''

@pytest.mark.parametrize('jobs', [1, 2])
def test_kill_9_then_the_same_command_runs_only_the_rest(tmp_path, jobs):
    src = str(Path(__file__).parents[1])
    script = KILLED.format(src=src, out=str(tmp_path/'out'), jobs=jobs)
    p = subprocess.Popen([sys.executable, '-c', script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs = tmp_path/'out'/'runs'
    deadline = time.time() + 300
    while time.time() < deadline and len(list(runs.glob('*.json'))) < 2 and p.poll() is None: time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)  # the study and its workers, as a Ctrl-C that nothing catches
    p.wait()
    kept = len(list(runs.glob('*.json')))
    assert 2 <= kept < 8, kept
    assert not list(runs.glob('.*.part'))  # nothing half-written is left as a run
    r = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'reused {kept} finished runs of 8' in r.stdout
    assert len(re.findall(r'^\[\d+/8\] ', r.stdout, re.M)) == 8 - kept  # a progress line per run trained
    res = json.loads((tmp_path/'out'/'results.json').read_text())
    whole = reproduce(['dot_product_bias'], 'book', epochs=3, seeds=8, out=tmp_path/'whole', say=lambda s: None,
                      ratings=synthetic_ratings(n_ratings=20000, n_users=400, n_items=500))
    assert _numbers(res) == _numbers(json.loads(json.dumps(whole)))

DYING = '''
import os
from pathlib import Path
def run(spec, data, echo=None):
    "Kill the worker process the first time (or every time, with spec['always']); else return the seed"
    mark = Path(spec['dir'])/f"tried-{spec['seed']}"
    if spec.get('dies') and (spec.get('always') or not mark.exists()):
        mark.write_text('x')
        os._exit(9)
    return dict(seed=spec['seed'], rows=len(data))
'''

def test_a_worker_that_dies_has_its_run_retried_once_then_reported(tmp_path, monkeypatch, small):
    (tmp_path/'dying_runs.py').write_text(DYING)
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker processes are spawned with this process's path
    d = str(tmp_path)
    specs = [dict(seed=1, dir=d), dict(seed=2, dir=d, dies=True), dict(seed=3, dir=d)]
    said = []
    recs = run_study('dying_runs:run', specs, small, tmp_path/'a', jobs=2, say=said.append)
    assert [r['result'] for r in recs] == [dict(seed=s, rows=len(small)) for s in (1, 2, 3)]  # retried once, elsewhere
    specs = [dict(seed=4, dir=d), dict(seed=5, dir=d, dies=True, always=True), dict(seed=6, dir=d)]
    with pytest.raises(StudyError, match=r'1 of 3 runs failed \(the 2 others are kept'):
        run_study('dying_runs:run', specs, small, tmp_path/'b', jobs=2, say=said.append)
    # the run that always dies is named, with why: Dask's KilledWorker, or, when its deaths took the shared data with them first, the runner's own words
    assert any('FAILED' in l and '"seed": 5' in l and ('KilledWorker' in l or 'lost twice with every worker' in l) for l in said), said
    assert len(list((tmp_path/'b'/'runs').glob('*.json'))) == 2

@pytest.fixture
def cluster(tmp_path):
    "A real Dask scheduler and two one-thread workers on loopback, started as a user starts them"
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES='1')  # as 34_study tells a user to start them
    sf = tmp_path/'scheduler.json'
    procs = [subprocess.Popen([BIN/'dask', 'scheduler', '--host', '127.0.0.1', '--port', '0', '--no-dashboard', '--scheduler-file', sf],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not sf.exists() and time.time() < deadline: time.sleep(0.1)
        address = json.loads(sf.read_text())['address']
        for _ in range(2):
            procs.append(subprocess.Popen([BIN/'dask', 'worker', address, '--nthreads', '1', '--no-dashboard'],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client
        with Client(address, timeout=30) as c: c.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in procs[::-1]: p.terminate()
        for p in procs: p.wait(timeout=30)

def test_a_study_through_a_dask_cluster_gives_the_bits_of_one_by_one(small, one_by_one, cluster, tmp_path):
    lines = []
    res = reproduce(**TWO, out=tmp_path, ratings=small, scheduler=cluster, say=lines.append)
    assert _numbers(res) == _numbers(one_by_one)
    assert len({l.rsplit('(pid ', 1)[1] for l in lines if '(pid ' in l}) == 2  # both workers trained
    assert res['study']['scheduler'] == cluster

def test_cli_refuses_bad_jobs_and_an_unreachable_scheduler(cli, ml100k, tmp_path):
    code,out,err = cli('reproduce', '--jobs', '0', '--out', str(tmp_path))
    assert code == 2 and '--jobs must be at least 1' in err
    code,out,err = cli('leaderboard', '--jobs', '2', '--scheduler', 'tcp://127.0.0.1:9', '--out', str(tmp_path))
    assert code == 2 and 'not both' in err
    code,out,err = cli('reproduce', '--experiments', 'dot_product', '--scheduler', 'tcp://127.0.0.1:9', '--out', str(tmp_path))
    assert code == 2 and 'cannot reach the Dask scheduler at tcp://127.0.0.1:9' in err
    assert len(err.strip().splitlines()) == 1, err  # one line, no traceback

def test_a_study_takes_its_runs_from_the_run_store_but_never_a_stale_one(small, tmp_path, monkeypatch):
    "One store for a whole CI: a study in another folder reads the runs back, copies them into its folder; other code trains"
    specs = [dict(name='dot_product', profile='book', seed=s, epochs=1, loader='fast') for s in (1, 2)]
    with st.run_store(tmp_path/'store'):
        first = run_study('collab_fastai.reproduce:train_run', specs, small, tmp_path/'a', say=lambda s: None)
        said = []
        again = run_study('collab_fastai.reproduce:train_run', specs, small, tmp_path/'b', say=said.append)
        assert said == [f"reused 2 finished runs of 2 from {tmp_path/'b'/'runs'} and the run store {tmp_path/'store'} (--fresh trains them again)"]
        assert [r['result'] for r in again] == [r['result'] for r in first] and len(list((tmp_path/'b'/'runs').glob('*.json'))) == 2
        monkeypatch.setattr(st, 'code_hash', lambda: 'code edited since')
        said.clear()
        run_study('collab_fastai.reproduce:train_run', specs[:1], small, tmp_path/'c', say=said.append)
        assert not said[0].startswith('reused') and len(said) == 1
    assert os.environ.get(st.RUNS_ENV) is None

def test_fresh_trains_again_even_what_the_run_store_holds(small, tmp_path, monkeypatch):
    "--fresh means train: neither the study's records nor the plain runs inside them are read back from the store"
    from fastai.learner import Learner
    fits, fit = [], Learner.fit
    monkeypatch.setattr(Learner, 'fit', lambda self, *a, **k: (fits.append(1), fit(self, *a, **k))[1])
    spec = [dict(name='dot_product', profile='book', seed=1, epochs=1, loader='fast')]
    with st.run_store(tmp_path/'store'):
        first = run_study('collab_fastai.reproduce:train_run', spec, small, tmp_path/'a', say=lambda s: None)
        again = run_study('collab_fastai.reproduce:train_run', spec, small, tmp_path/'b', say=lambda s: None)
        assert len(fits) == 1
        fresh = run_study('collab_fastai.reproduce:train_run', spec, small, tmp_path/'b', say=lambda s: None, fresh=True)
        assert len(fits) == 2 and os.environ.get(st.RUNS_ENV) == str(tmp_path/'store')
    assert timeless(fresh[0]['result']) == timeless(first[0]['result']) == timeless(again[0]['result'])
