"Interpretation: biases, factors, similar titles, recommendations, the PCA map, model files and their errors."
import pytest, torch
import pandas as pd
from collab_fastai.core import UsageError
from collab_fastai.experiments import run_experiment
from collab_fastai.interpret import *

@pytest.fixture(scope='module')
def trained(synthetic_ratings):
    "One epoch of each model kind on the synthetic ratings"
    return {n: run_experiment(n, synthetic_ratings, epochs=1, bar=False, echo=lambda e: None).learn
            for n in ('dot_product', 'dot_product_bias', 'dot_product_bias_params', 'collab_learner', 'collab_nn', 'collab_learner_nn')}

def test_factors_of_every_model(trained):
    for name, learn in trained.items():
        f = item_factors(learn)
        assert f.shape[0] == len(vocab(learn, 1)) and f.ndim == 2, name

def test_biases_of_the_dot_models(trained):
    for name in ('dot_product_bias', 'dot_product_bias_params', 'collab_learner'):
        b = biases(trained[name], 3)
        assert len(b['lowest']) == 3 and len(b['highest']) == 3 and '#na#' not in b['lowest'] + b['highest']
        lo, hi = [item_bias(trained[name])[[vocab(trained[name], 1).o2i[t] for t in b[k]]] for k in ('lowest', 'highest')]
        assert lo.max() <= hi.min()
    with pytest.raises(UsageError, match='has no item bias'): biases(trained['collab_nn'])

def test_collab_learner_uses_fastais_accessors(trained):
    learn = trained['collab_learner']
    assert torch.equal(item_bias(learn), learn.model.i_bias.weight.detach().squeeze(1))

def test_similar_excludes_the_title_and_na(trained):
    learn = trained['collab_learner']
    t = vocab(learn, 1)[5]
    res = similar(learn, t, 4)
    assert len(res) == 4 and t not in [o for o, _ in res] and '#na#' not in [o for o, _ in res]
    assert [s for _, s in res] == sorted([s for _, s in res], reverse=True)

def test_unknown_title_suggests_close_ones(trained):
    with pytest.raises(NotInModel, match=r"knows no title 'Film 3 \(1935\)'.*Closest known titles: Film 3 \(1953\)"):
        similar(trained['collab_learner'], 'Film 3 (1935)')

def test_title_only_in_validation_split_is_explained(trained, synthetic_ratings):
    learn = trained['collab_learner']
    extra = pd.concat([synthetic_ratings, pd.DataFrame(dict(user=[1], movie=[99], rating=[4], timestamp=[0], title=['Lost Film (1999)']))])
    with pytest.raises(NotInModel, match="in the data, but .* fell in the validation split.*'#na#'"):
        similar(learn, 'Lost Film (1999)', ratings=extra)
    with pytest.raises(NotInModel, match='#na#|knows no title'):
        predict(learn, [(1, '#na#')])

def test_unknown_user(trained, synthetic_ratings):
    with pytest.raises(NotInModel, match='knows no user 4242'): recommend(trained['collab_nn'], 4242, synthetic_ratings)

def test_recommend_only_unrated_titles_highest_first(trained, synthetic_ratings):
    learn = trained['collab_nn']
    rec = recommend(learn, 3, synthetic_ratings, n=5)
    assert len(rec) == 5 and rec.predicted.is_monotonic_decreasing
    assert not set(rec.title) & set(synthetic_ratings.title[synthetic_ratings.user == 3])
    assert predict(learn, [(3, rec.title[0])])[0] == pytest.approx(rec.predicted[0])

def test_pca_map(trained, synthetic_ratings, tmp_path):
    df = pca_map(trained['dot_product_bias_params'], synthetic_ratings, tmp_path/'map.png', n_top=20, n_show=5)
    assert len(df) == 20 and list(df.columns) == ['title', 'fac0', 'fac1', 'fac2']
    assert (tmp_path/'map.png').read_bytes()[:4] == b'\x89PNG'

def test_model_files(trained, tmp_path):
    trained['collab_learner'].export(tmp_path/'m.pkl')
    assert biases(load_model(tmp_path/'m.pkl')) == biases(trained['collab_learner'])
    with pytest.raises(ModelFileError, match='no model file'): load_model(tmp_path/'none.pkl')
    (tmp_path/'bad.pkl').write_bytes(b'\x80\x04garbage')
    with pytest.raises(ModelFileError, match='not a readable fastai model export'): load_model(tmp_path/'bad.pkl')

def test_cli_on_a_saved_model(trained, tmp_path, cli):
    trained['collab_learner'].export(tmp_path/'m.pkl')
    code, out, err = cli('biases', '--model', str(tmp_path/'m.pkl'), '-n', '2')
    assert code == 0 and out.startswith('lowest bias:\n') and out.count('\n') == 6
    code, out, err = cli('similar', '--model', str(tmp_path/'m.pkl'), '--title', 'Film 3 (1935)')
    assert code == 2 and 'Closest known titles' in err

@pytest.mark.parametrize('args, msg', [
    (['train', '--save', 'x.pkl'], '--experiment is required'),
    (['train', '--experiment', 'dot'], "invalid choice: 'dot'"),
    (['train', '--experiment', 'collab_nn'], '--save FILE is required'),
    (['train', '--experiment', 'collab_nn', '--save', '/nowhere/at/all/m.pkl'], 'does not exist'),
    (['biases'], '--model FILE is required'),
    (['biases', '--model', '/nowhere/m.pkl'], 'no model file'),
    (['similar', '--model', '/nowhere/m.pkl'], '--title is required'),
    (['recommend', '--model', '/nowhere/m.pkl'], '--user is required'),
    (['recommend', '--model', '/nowhere/m.pkl', '--user', 'x'], 'invalid int value'),
])
def test_cli_errors(cli, args, msg):
    code, out, err = cli(*args)
    assert code == 2 and msg in err

@pytest.mark.slow
def test_train_and_ask_on_the_real_data(ml100k, tmp_path, cli):
    code, out, err = cli('train', '--experiment', 'dot_product_bias_params', '--save', str(tmp_path/'p.pkl'), '--data', str(ml100k))
    assert code == 0 and 'saved' in out
    code, out, err = cli('recommend', '--model', str(tmp_path/'p.pkl'), '--user', '42', '-n', '3', '--data', str(ml100k))
    assert code == 0 and len(out.splitlines()) == 3
    code, out, err = cli('pca', '--model', str(tmp_path/'p.pkl'), '--out', str(tmp_path/'map.png'), '--data', str(ml100k))
    assert code == 0 and (tmp_path/'map.png').stat().st_size > 10_000
    code, out, err = cli('similar', '--model', str(tmp_path/'p.pkl'), '--title', 'Silence of the Lambs, The (1991)', '--data', str(ml100k))
    assert code == 0 and len(out.splitlines()) == 5
