"The reruns (myFM, KNNBaseline item-based) and the fastai models with implicit feedback, side information or an ordinal head: each fits and predicts on tiny folds, none sees a test rating, a missing library is named."
import importlib.util, numpy as np, pandas as pd, pytest
from pathlib import Path
import collab_fastai.field.benchmark as bm
from collab_fastai.core import UsageError
from collab_fastai.scale.datasets import synthetic_ratings
from collab_fastai.field import beyond as by
from collab_fastai.study import StudyError

FAST = dict(n_iter=20, n_kept=10)  # myFM's Gibbs iterations cut for the tiny folds (a test of plumbing, not of accuracy)
ROWS = [n for n,m in by.BEYOND_MODELS.items() if m.fit_predict is not None]

@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    "Synthetic ratings in ml-100k's layout: u.data, u.item, u.user and the five folds"
    return bm.write_fold_layout(synthetic_ratings(n_ratings=3000, n_users=120, n_items=90, seed=0), tmp_path_factory.mktemp('tiny')/'ml-100k')

@pytest.fixture(scope='module')
def tiny(folder): return bm.load_folds(folder, verify=False)

def _params(n): return dict(by.BEYOND_MODELS[n].params, **(FAST if n.startswith('myfm') else {}))

@pytest.mark.parametrize('name', ROWS)
def test_each_row_fits_and_predicts_without_the_test_ratings(tiny, name):
    "Each row predicts every test row; scrambling the test rows' ratings changes none of its predictions"
    m = by.BEYOND_MODELS[name]
    fit,score = bm.fold_rows(tiny, 'u1')
    pred = m.fit_predict(tiny, fit, score, _params(name), 1)
    assert pred.shape == (len(score),) and np.isfinite(pred).all() and (pred >= 0.5).all() and (pred <= 5.5).all()
    rmse = float(np.sqrt(np.mean((pred - tiny['rating'].to_numpy()[score])**2)))
    assert rmse < float(np.std(tiny['rating'].to_numpy()[score]))*1.2, rmse  # it learnt something: near or below the spread of the ratings
    scrambled = tiny.copy()
    r = scrambled['rating'].to_numpy().copy(); r[score] = np.random.default_rng(0).permutation(r[score])[::-1]; r[score] = 6 - r[score]
    scrambled['rating'] = r
    np.testing.assert_array_equal(m.fit_predict(scrambled, fit, score, _params(name), 1), pred)

def test_fastai_rows_do_not_see_test_ratings(tiny, monkeypatch):
    "The fastai rows' implicit sets are built from the training rows only, and training sees no test rating"
    fit,score = bm.fold_rows(tiny, 'u1')
    seen = []
    real = by.implicit_sets
    monkeypatch.setattr(by, 'implicit_sets', lambda r, c, *a: seen.append(len(r)) or real(r, c, *a))
    by.plus_fit_predict(tiny, fit, score, dict(implicit=True, epochs=1), 1)
    assert seen == [len(fit)]

def test_the_leak_test_covers_the_new_rows(tiny, monkeypatch):
    "A run of a new row whose training rows hold test rows is stopped before it trains"
    n = len(tiny)
    for name in ROWS:
        monkeypatch.setattr(bm, 'run_rows', lambda data, fold, part: (np.arange(n), bm.fold_rows(data, fold)[1]))
        with pytest.raises(bm.LeakError, match='would train on u1.test'):
            bm.benchmark_run(dict(model=name, fold='u1', part='test', seed=1, params=_params(name)), tiny)

def test_a_blend_of_the_new_rows_end_to_end(folder, tmp_path):
    "The new rows run through `benchmark`: blend weights fit on the validation split, the ladder of ideas measured"
    res = bm.benchmark('u1,u2', 'myfm,fastai_svdpp,fastai_ordinal,blend_beyond_fastai', trials=1, seeds=2, out=tmp_path,
                       data=folder, verify=False, say=lambda s: None)
    rows = {r['model']: r for r in res['rows']}
    assert {'myfm', 'collab_learner', 'blend_beyond_fastai', *by.PLUS} <= set(rows)
    assert rows['myfm']['family'] == 'rerun' and set(rows['blend_beyond_fastai']['weights']) == {'u1', 'u2'}
    steps = bm.improvement_steps(res, by.BEYOND_LADDER)
    assert steps['model'].iloc[0] == 'collab_learner' and steps['gain'].iloc[0] == 0 and len(steps) == 7
    assert (steps['band_lo'] <= steps['u1_rmse']).all() and (steps['u1_rmse'] <= steps['band_hi']).all()

def test_missing_myfm_names_the_extra(tiny, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'myfm' else real(name, *a))
    with pytest.raises(UsageError, match=r"myFM is not installed: pip install 'collab-fastai\[field\]'"):
        bm.check_benchmark_args('u1', 'fastai_svdpp,myfm', 1, 1, 1, None)
    with pytest.raises(UsageError, match=r"collab-fastai\[field\]"): bm.check_benchmark_args('u1', 'blend_beyond', 1, 1, 1, None)
    bm.check_benchmark_args('u1', 'fastai_svdpp', 1, 1, 1, None)  # a row without myFM needs no myFM

def test_a_student_model_that_wants_the_new_inputs_is_told_what_its_row_gives(tiny, tmp_path):
    (tmp_path/'mine.py').write_text("from fastai.collab import Module\nclass Mine(Module):\n"
                                   "    def __init__(self, n_users, n_movies, n_factors, implicit): pass\n")
    with pytest.raises(UsageError, match=r"__init__ must accept that\. A student's row gets what the book's DotProductBias gets: .*not the implicit sets, the side information or the dates"):
        bm.student_model(f"{tmp_path/'mine.py'}:Mine", tiny)
