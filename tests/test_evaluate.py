"The leaderboard: splits, metrics on hand-computed cases, bad input, and (slow) the book split on the real data."
import json, math, sys, numpy as np, pandas as pd, pytest
from collab_fastai.core import UsageError
from collab_fastai.field.leaderboard import *
from collab_fastai.golden import golden

def test_ranking_metrics_by_hand():
    # u1: hits at ranks 2 and 3 of 4, three relevant; u2: one hit at rank 1, five relevant (more than k)
    r = ranking_metrics({'u1': ['a', 'b', 'c', 'd'], 'u2': ['x', 'y', 'z', 'w']},
                        {'u1': {'b', 'c', 'q'}, 'u2': {'x', 'p1', 'p2', 'p3', 'p4'}}, k=4)
    assert r['precision@k'] == pytest.approx((2/4 + 1/4)/2)
    assert r['recall@k'] == pytest.approx((2/3 + 1/5)/2)
    dcg1, idcg1 = 1/math.log(3) + 1/math.log(4), sum(1/math.log(1+i) for i in (1, 2, 3))
    dcg2, idcg2 = 1/math.log(2), sum(1/math.log(1+i) for i in (1, 2, 3, 4))
    assert r['ndcg@k'] == pytest.approx((dcg1/idcg1 + dcg2/idcg2)/2)
    assert r['map@k'] == pytest.approx(((1/2 + 2/3)/3 + (1/1)/4)/2)   # divided by min(relevant, k)
    assert r['map'] == pytest.approx(((1/2 + 2/3)/3 + (1/1)/5)/2)     # divided by all relevant (their table's MAP)

def test_only_the_first_k_count():
    assert ranking_metrics({1: [9, 8, 7]}, {1: {7}}, k=2)['precision@k'] == 0

@pytest.mark.parametrize('top, relevant, k, msg', [({1: [1]}, {2: {1}}, 10, 'user 1 has no test rows'),
                                                   ({1: [1]}, {1: {1}}, 0, 'k must be at least 1'), ({}, {}, 10, 'no user to score')])
def test_ranking_metrics_errors(top, relevant, k, msg):
    with pytest.raises(UsageError, match=msg): ranking_metrics(top, relevant, k)

def test_rating_metrics_by_hand():
    m = rating_metrics([2, 4, 4, 5], [3, 4, 3, 5])
    assert m['mse'] == 0.5 and m['rmse'] == pytest.approx(math.sqrt(0.5)) and m['mae'] == 0.5
    assert m['r2'] == pytest.approx(1 - 2/4.75)

@pytest.mark.parametrize('version', ['reco_utils', 'recommenders'])
def test_stratified_split_protocol(version):
    rng = np.random.default_rng(3)
    df = pd.DataFrame(dict(user=rng.integers(1, 60, 2000), movie=rng.integers(1, 200, 2000), rating=rng.integers(1, 6, 2000)))
    tr, te = stratified_split(df, version=version)
    assert not set(tr) & set(te) and stratified_split(df, version=version) == (tr, te)
    n_train, n_all = df.iloc[tr].groupby('movie').size(), df.groupby('movie').size()
    assert (n_train.reindex(n_all.index, fill_value=0) == (0.75*n_all).round()).all()   # halves round to even
    assert set(df.user.iloc[te]) <= set(df.user.iloc[tr])                                # no cold user in test
    assert stratified_split(df, seed=7, version=version) != (tr, te)

def test_the_two_splitter_versions_draw_different_rows():
    df = pd.DataFrame(dict(user=np.arange(400) % 37, movie=np.arange(400) % 20, rating=3))
    assert stratified_split(df)[1] != stratified_split(df, version='recommenders')[1]
    with pytest.raises(UsageError, match='choose from reco_utils, recommenders'): stratified_split(df, version='v2')

def test_book_split_is_the_chapters(synthetic_ratings):
    from collab_fastai.data import collab_dls
    tr, te = book_split(synthetic_ratings, seed=3)
    dls = collab_dls(synthetic_ratings, 'book', seed=3)
    assert sorted(dls.valid_ds.items.index) == sorted(synthetic_ratings.index[te])

@pytest.mark.parametrize('args, msg', [
    (['--models', 'svd,collab_nn'], "unknown model 'svd': choose from global_mean, surprise_baseline_only, surprise_svd"),
    (['--k', '0'], 'k must be at least 1'),
    (['--split', 'random'], "invalid choice: 'random' (choose from 'book', 'stratified')"),
])
def test_leaderboard_bad_arguments_before_any_work(cli, tmp_path, args, msg):
    code, out, err = cli('leaderboard', '--data', str(tmp_path/'nowhere.zip'), '--out', str(tmp_path/'out'), *args)
    assert code == 2 and msg in err and out == ''

def test_leaderboard_without_surprise(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'surprise', None)  # `import surprise` now fails as if it were not installed
    code, out, err = cli('leaderboard', '--models', 'surprise_svd', '--out', str(tmp_path))
    assert code == 2 and "surprise is not installed; the leaderboard and the five-fold benchmark need it: pip install 'collab-fastai[field]'" in err

def test_leaderboard_on_synthetic_ratings(synthetic_ratings, tmp_path):
    res = leaderboard('book', models='global_mean,surprise_baseline_only,dot_product_bias', k=5, out=tmp_path, ratings=synthetic_ratings)
    on_disk = json.loads((tmp_path/'leaderboard.json').read_text())
    assert (on_disk['split'], on_disk['seed'], on_disk['k']) == ('book', 1, 5)
    keys = {'model', 'family', 'mse', 'rmse', 'mae', 'r2', 'precision@k', 'recall@k', 'ndcg@k', 'map@k', 'fit_seconds'}
    assert all(keys <= set(r) for r in on_disk['rows'])
    assert [r['family'] for r in on_disk['rows']] == ['baseline', 'surprise', 'chapter']
    assert (tmp_path/'leaderboard.png').read_bytes()[:4] == b'\x89PNG' and 'By nDCG@5' in (tmp_path/'leaderboard.md').read_text()
    assert on_disk['reference']['rows']['recommenders_svd']['rmse'] == 0.938681

@pytest.mark.slow
def test_book_split_leaderboard_on_the_real_data(ratings, tmp_path, ci_runs):
    "The baselines and two chapter models on the book split: the chapter's MSE is reproduce's valid loss, bit for bit"
    names = ['global_mean', 'surprise_baseline_only', 'surprise_svd', 'surprise_svdpp', 'surprise_knn_baseline',
             'dot_product_bias_wd', 'collab_nn']
    with ci_runs(): res = leaderboard('book', models=names, out=tmp_path, ratings=ratings)
    rows = {r['model']: r for r in res['rows']}
    gold = golden()['profiles']['book']['experiments']
    for n in ('dot_product_bias_wd', 'collab_nn'): assert rows[n]['mse'] == gold[n]['epochs'][-1]['valid_loss']
    assert res['n_test'] == 20_000 and 1.1 < rows['global_mean']['rmse'] < 1.2
    for n in names[1:]:
        r = rows[n]
        assert 0.85 < r['rmse'] < 1.0 and 0 < r['ndcg@k'] < 1 and 0 < r['precision@k'] < 1, r
    # the chapter's weight-decayed dot product ranks above Surprise's SVD++ and SVD on MSE, as measured when filed
    assert rows['dot_product_bias_wd']['mse'] < rows['surprise_svdpp']['mse'] < rows['surprise_svd']['mse']
