"`collab-fastai train` beyond the book: other releases, checkpoints that survive `kill -9`, and data-parallel processes."
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from collab_fastai.scale.datasets import synthetic_ratings, write_release
from collab_fastai.scale.checkpoints import load_checkpoint

EXE = str(Path(sys.executable).with_name('collab-fastai'))

@pytest.fixture(scope='module')
def release(tmp_path_factory):
    "A small release in ml-latest-small's layout (synthetic ratings, half stars)"
    d = tmp_path_factory.mktemp('release')
    return write_release(synthetic_ratings('ml-latest-small', n_ratings=40000, n_users=400, n_items=800, seed=1), 'ml-latest-small', d/'ml-latest-small')

def train(*args, **kw):
    return subprocess.run([EXE, 'train', '--dataset', 'ml-latest-small', *args], capture_output=True, text=True, **kw)

def losses(path): return [(e['train_loss'], e['valid_loss']) for e in load_checkpoint(path)['epochs']]

def test_datasets_lists_every_release(cli):
    code,out,_ = cli('datasets')
    assert code == 0
    for name in ('ml-100k', 'ml-latest-small', 'ml-1m', 'ml-10m', 'ml-20m', 'ml-25m', 'ml-32m'): assert f'\n{name} ' in out
    assert 'c4d9eecfca2ab87c1945afe126590906' in out and '6b51fb2759a8657d3bfcbfc42b592ada' in out

@pytest.mark.parametrize('args, msg', [
    (['--dataset', 'ml-3m'], "invalid choice: 'ml-3m'"),
    (['--nproc', '0'], '--nproc must be at least 1'),
    (['--checkpoints', 'a', '--resume', 'b'], 'not both'),
])
def test_bad_arguments(cli, tmp_path, args, msg):
    code,_,err = cli('train', '--experiment', 'dot_product_bias', '--save', str(tmp_path/'m.pkl'), *args)
    assert code == 2 and msg in err

def test_a_wrong_layout_names_the_files(cli, tmp_path):
    (tmp_path/'u.data').write_text('1\t1\t5\t0\n')
    code,_,err = cli('train', '--experiment', 'dot_product_bias', '--save', str(tmp_path/'m.pkl'), '--dataset', 'ml-1m', '--data', str(tmp_path))
    assert code == 2 and 'ratings.dat' in err and 'movies.dat' in err

def test_kill_9_then_resume_gives_the_uninterrupted_losses(release, tmp_path):
    common = ['--experiment', 'collab_nn', '--data', str(release), '--epochs', '4']
    straight = train(*common, '--save', str(tmp_path/'a.pkl'), '--checkpoints', str(tmp_path/'a'))
    assert straight.returncode == 0, straight.stderr
    p = subprocess.Popen([EXE, 'train', '--dataset', 'ml-latest-small', *common, '--save', str(tmp_path/'b.pkl'),
                          '--checkpoints', str(tmp_path/'b')], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = tmp_path/'b'/'checkpoint.pth'
    for _ in range(600):
        if ck.exists() or p.poll() is not None: break
        time.sleep(0.05)
    time.sleep(0.2)  # into the next epoch, or into the next checkpoint's write: any moment must be safe
    p.send_signal(signal.SIGKILL); p.wait()
    assert not (tmp_path/'b.pkl').exists()  # no model written by a killed run
    done = load_checkpoint(tmp_path/'b')['epoch']  # whole, whatever the moment of the kill
    assert done < 3, 'the run finished before the kill: give it more epochs'
    resumed = subprocess.run([EXE, 'train', '--resume', str(tmp_path/'b')], capture_output=True, text=True)  # the folder alone
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path/'b.pkl').is_file() and 'ml-latest-small' in resumed.stdout  # saved where the run said, from its release
    assert losses(tmp_path/'b') == losses(tmp_path/'a')  # bit for bit
    assert not list((tmp_path/'b').glob('.*.part'))

def test_resume_with_other_settings_says_which(release, tmp_path):
    common = ['--experiment', 'dot_product_bias_wd', '--data', str(release), '--epochs', '1', '--save', str(tmp_path/'m.pkl')]
    assert train(*common, '--checkpoints', str(tmp_path/'c')).returncode == 0
    r = train(*common, '--resume', str(tmp_path/'c'), '--bs', '128', '--seed', '2')
    assert r.returncode == 2 and 'bs: 64 in the checkpoint, 128 now' in r.stderr and 'seed: 1 in the checkpoint, 2 now' in r.stderr
    r = subprocess.run([EXE, 'train', '--resume', str(tmp_path/'c'), '--experiment', 'collab_nn'], capture_output=True, text=True)
    assert r.returncode == 2 and "experiment: 'dot_product_bias_wd' in the checkpoint, 'collab_nn' now" in r.stderr
    assert 'data:' not in r.stderr  # refused before any data is read

def test_two_processes_agree_with_one_of_the_same_global_batch(release, tmp_path):
    "DDP with 2 gloo processes of bs 32 against 1 process of bs 64: different batches, same recipe (33_distributed)"
    common = ['--experiment', 'dot_product_bias_wd', '--data', str(release), '--epochs', '3', '--loader', 'stock']
    two = train(*common, '--nproc', '2', '--bs', '32', '--save', str(tmp_path/'two.pkl'), '--checkpoints', str(tmp_path/'two'))
    assert two.returncode == 0, two.stderr[-3000:]
    one = train(*common, '--bs', '64', '--save', str(tmp_path/'one.pkl'), '--checkpoints', str(tmp_path/'one'))
    assert one.returncode == 0, one.stderr
    assert two.stdout.count('saved ') == 1 and two.stdout.count('epoch 0 ') == 1  # only rank 0 prints
    assert (tmp_path/'two.pkl').exists() and sorted(os.listdir(tmp_path/'two')) == ['checkpoint.pth', 'train.json']  # rank 0 alone writes them
    a,b = losses(tmp_path/'two'),losses(tmp_path/'one')
    # Measured: valid losses 0.7012/0.6073/0.5880 (two) against 0.6981/0.6025/0.5842 (one), at most 0.005 apart. The
    # batches differ (each rank takes half of the epoch's order), as two shuffles of one run do; 0.02 is four times that.
    for (ta,va),(tb,vb) in zip(a, b): assert abs(va - vb) < 0.02, (a, b)
