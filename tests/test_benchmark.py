"The benchmark on ml-100k's five folds: the fold files, the protocol (no test row seen while tuning), resuming, bad input."
import json, numpy as np, pandas as pd, pytest
from pathlib import Path
import collab_fastai.field.benchmark as bm
from collab_fastai.core import DataError, UsageError
from collab_fastai.scale.datasets import synthetic_ratings
from collab_fastai.study import StudyError, timeless

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "Synthetic ratings in ml-100k's layout: u.data, u.item, u.user and the five folds"
    return bm.write_fold_layout(synthetic_ratings(n_ratings=3000, n_users=120, n_items=90, seed=0), tmp_path_factory.mktemp('tiny')/'ml-100k')

def _rmse_of_mean(folder, fold):
    "The global mean's RMSE on `fold`, straight from the files"
    cols = ['user', 'movie', 'rating', 'timestamp']
    base = pd.read_csv(folder/f'{fold}.base', sep='\t', names=cols); test = pd.read_csv(folder/f'{fold}.test', sep='\t', names=cols)
    return float(np.sqrt(np.mean((test['rating'] - base['rating'].mean())**2)))

def test_the_folds_are_read_and_checked(tiny, tmp_path):
    data = bm.load_folds(tiny, verify=False)
    assert data['fold'].value_counts().to_dict() == {f: 600 for f in bm.FOLDS}
    for f in bm.FOLDS:
        base,test = bm.fold_rows(data, f)
        assert len(base) == 2400 and len(test) == 600 and not set(base) & set(test)
    with pytest.raises(DataError, match='is not the genuine MovieLens 100k file'): bm.load_folds(tiny)
    with pytest.raises(UsageError, match="unknown fold 'u0': ml-100k.zip holds the five folds u1, u2, u3, u4, u5"): bm.check_folds('u1,u0')
    broken = tmp_path/'ml-100k'
    broken.mkdir()
    for f in tiny.iterdir():
        if f.name not in ('u2.base', 'u5.test'): (broken/f.name).write_bytes(f.read_bytes())
    with pytest.raises(DataError, match=r'has no u2\.base, u5\.test: the benchmark needs the five folds'): bm.load_folds(broken, verify=False)

def test_a_small_benchmark_end_to_end_then_resumed(tiny, tmp_path):
    lines = []
    models = 'global_mean,surprise_baseline_only,dot_product_bias_wd,tuned_surprise_svd,tuned_collab_learner'
    res = bm.benchmark('u1,u2', models, trials=3, seeds=2, out=tmp_path, data=tiny, verify=False, say=lines.append)
    for f in ('benchmark.json', 'benchmark.md', 'benchmark.png'): assert (tmp_path/f).stat().st_size > 0
    rows = {r['model']: r for r in res['rows']}
    assert list(rows) == models.split(',')
    for f in ('u1', 'u2'): assert rows['global_mean']['folds'][f]['rmse'] == pytest.approx(_rmse_of_mean(tiny, f), rel=1e-6)
    assert list(rows['dot_product_bias_wd']['u1']['seeds']) == ['1', '2'] and list(rows['global_mean']['u1']['seeds']) == ['1']
    sd = rows['dot_product_bias_wd']['u1']['seeds']
    assert rows['dot_product_bias_wd']['u1']['band'] == [min(sd.values()), max(sd.values())]
    for n in ('tuned_surprise_svd', 'tuned_collab_learner'):
        for f,t in rows[n]['tuned'].items():
            assert len(t['trials']) == 3
            assert t['params'] == min(t['trials'], key=lambda r: r['rmse'])['params']  # chosen on the validation RMSE, nothing else
    assert res['published'] is None and 'not comparable' in (tmp_path/'benchmark.md').read_text()
    assert sum('trial' in l for l in lines) == 2*2*3 and any('tuning: round 3/3' in l for l in lines)
    again = []
    res2 = bm.benchmark('u1,u2', models, trials=3, seeds=2, out=tmp_path, data=tiny, verify=False, say=again.append)
    assert not any(l.startswith('[') for l in again), again  # no run trained again
    assert timeless(res2['rows']) == timeless(res['rows'])

def test_tuning_that_sees_a_test_row_fails(tiny, tmp_path, monkeypatch):
    "The protocol's rule: settings are chosen on rows carved from the training set. A carve that leaks the test rows is caught."
    n = len(bm.load_folds(tiny, verify=False))
    monkeypatch.setattr(bm, 'carve_valid', lambda base, **kw: (base, np.setdiff1d(np.arange(n), base)))  # the 'validation' rows are the test rows
    with pytest.raises(StudyError, match='choose its settings on u1.test'):
        bm.benchmark('u1', 'tuned_surprise_svd', trials=1, seeds=1, out=tmp_path, data=tiny, verify=False, say=lambda s: None)

def test_a_blend_fits_its_weights_on_the_validation_split_only(tiny, tmp_path, monkeypatch):
    res = bm.benchmark('u1', 'blend_fastai', trials=1, seeds=1, out=tmp_path/'ok', data=tiny, verify=False, say=lambda s: None)
    row = next(r for r in res['rows'] if r['model'] == 'blend_fastai')
    w = row['weights']['u1']
    assert set(w) == set(bm.BENCH_MODELS['blend_fastai'].members) and min(w.values()) >= 0 and max(w.values()) > 0
    valid_runs = [json.loads(f.read_text())['spec'] for f in (tmp_path/'ok'/'runs').glob('*.json')]
    assert sorted(s['model'] for s in valid_runs if s['part'] == 'valid') == sorted(w)  # one validation run per member
    n = len(bm.load_folds(tiny, verify=False))
    monkeypatch.setattr(bm, 'carve_valid', lambda base, **kw: (base, np.setdiff1d(np.arange(n), base)))  # weights fit on the test rows
    with pytest.raises(StudyError, match='choose its settings on u1.test'):
        bm.benchmark('u1', 'blend_fastai', trials=1, seeds=1, out=tmp_path/'leak', data=tiny, verify=False, say=lambda s: None)

def test_training_on_a_test_row_fails(tiny, tmp_path, monkeypatch):
    real = bm.fold_rows
    monkeypatch.setattr(bm, 'run_rows', lambda data, fold, part: (np.arange(len(data)), real(data, fold)[1]))  # trains on every row
    with pytest.raises(StudyError, match='would train on u1.test'):
        bm.benchmark('u1', 'global_mean', trials=1, seeds=1, out=tmp_path, data=tiny, verify=False, say=lambda s: None)

GOOD = '''
from fastai.collab import *
from fastai.tabular.all import *
class MyModel(Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=(0, 5.5)):
        self.user_factors,self.user_bias = Embedding(n_users, n_factors),Embedding(n_users, 1)
        self.movie_factors,self.movie_bias = Embedding(n_movies, n_factors),Embedding(n_movies, 1)
        self.y_range = y_range
    def forward(self, x):
        u,m = x[:,0],x[:,1]
        res = (self.user_factors(u)*self.movie_factors(m)).sum(dim=1, keepdim=True) + self.user_bias(u) + self.movie_bias(m)
        return sigmoid_range(res, *self.y_range)
'''

def test_a_students_class_is_a_row(cli, tiny, tmp_path):
    (tmp_path/'mine.py').write_text(GOOD)
    code,out,err = cli('benchmark', '--data', str(tiny), '--unverified', '--folds', 'u1', '--models', 'global_mean', '--seeds', '1',
                       '--model', f"{tmp_path/'mine.py'}:MyModel", '--out', str(tmp_path/'out'))
    assert code == 0, err
    rows = {r['model']: r for r in json.loads((tmp_path/'out'/'benchmark.json').read_text())['rows']}
    assert rows['MyModel']['family'] == 'student' and rows['MyModel']['u1']['rmse'] < rows['global_mean']['u1']['rmse']
    assert '| MyModel | student |' in out

@pytest.mark.parametrize('args, msg', [
    (['--trials', '0'], '--trials must be at least 1, not 0'),
    (['--jobs', '0'], '--jobs must be at least 1, not 0'),
    (['--folds', 'u1,u9'], "unknown fold 'u9': ml-100k.zip holds the five folds u1, u2, u3, u4, u5"),
    (['--models', 'svd'], "unknown model 'svd': choose from global_mean"),
    (['--models', 'global_mean', '--scheduler', 'tcp://127.0.0.1:9'], 'cannot reach the Dask scheduler at tcp://127.0.0.1:9'),
    (['--models', 'global_mean', '--model', 'nowhere.py:MyModel'], 'no file nowhere.py'),
])
def test_bad_input_is_one_line_and_exit_2(cli, tiny, tmp_path, args, msg):
    code,out,err = cli('benchmark', '--data', str(tiny), '--unverified', '--out', str(tmp_path), *args)
    assert code == 2 and msg in err, err
    assert len(err.strip().splitlines()) <= 2 and 'Traceback' not in err, err  # at most the data line and the error

def test_a_failing_class_gets_the_checks_hint(cli, tiny, tmp_path):
    (tmp_path/'bad.py').write_text(GOOD.replace('.sum(dim=1, keepdim=True)', ''))  # forgets to sum over the factors
    code,out,err = cli('benchmark', '--data', str(tiny), '--unverified', '--folds', 'u1', '--models', 'global_mean',
                       '--model', f"{tmp_path/'bad.py'}:MyModel", '--out', str(tmp_path/'out'))
    assert code == 2 and 'Did you sum the product over dim=1?' in err and 'Traceback' not in err, err

def test_an_archive_without_the_folds_names_them(cli, tiny, tmp_path):
    for f in tiny.iterdir():
        if not f.name.startswith(('u1', 'u2', 'u3', 'u4', 'u5')): (tmp_path/f.name).write_bytes(f.read_bytes())
    code,out,err = cli('benchmark', '--data', str(tmp_path), '--unverified', '--models', 'global_mean', '--out', str(tmp_path/'out'))
    assert code == 2 and 'has no u1.base, u1.test, u2.base' in err and 'u5.test' in err, err

@pytest.mark.slow
def test_the_genuine_folds(ml100k, tmp_path, ci_runs):
    data = bm.load_folds(ml100k)  # every fold file's md5 checked
    assert len(data) == 100_000 and data['fold'].value_counts().to_dict() == {f: 20_000 for f in bm.FOLDS}
    with ci_runs(): res = bm.benchmark('u1', 'global_mean,collab_learner,surprise_svd', seeds=1, out=tmp_path, data=ml100k, say=lambda s: None)  # 21_benchmark's call
    rows = {r['model']: r for r in res['rows']}
    assert rows['global_mean']['u1']['rmse'] == pytest.approx(_rmse_of_mean(Path(ml100k), 'u1'), rel=1e-6)
    # the measurement of stock collab_learner on u1 (0.9153), here under the book profile and the portable numerics
    assert abs(rows['collab_learner']['u1']['rmse'] - 0.9153) < 0.005
    assert res['published'] == bm.PUBLISHED and 'Published (not measured here)' in (tmp_path/'benchmark.md').read_text()
