"A new person folded into the chapter's model (46_recommend): recommendations with reasons, `recommend --rate`, and each bad input."
import io, sys, types
import pytest, torch
from collab_fastai.core import UsageError
from collab_fastai.experiments import run_experiment
from collab_fastai.interpret import ModelFileError
from collab_fastai.teach.recommend import *

@pytest.fixture(scope='module')
def small(synthetic_ratings):
    "One epoch of collab_learner on the synthetic ratings: fast, for the checks of the code paths"
    return run_experiment('collab_learner', synthetic_ratings, epochs=1, bar=False, echo=lambda e: None).learn

@pytest.fixture(scope='module')
def chapter(ratings, ci_runs):
    "The chapter's collab_learner on all of MovieLens 100k (book profile, seed 1), read back from the CI's run store if it has it"
    with ci_runs(): return run_experiment('collab_learner', ratings, 'book', seed=1, reuse=True, bar=False, echo=lambda e: None).learn

@pytest.fixture(scope='module')
def model_file(small, tmp_path_factory):
    f = tmp_path_factory.mktemp('model')/'small.pkl'
    small.export(f)
    return f

def test_fold_in_finds_a_known_row_back():
    "Ratings made by the model's own formula: with no pull the fold-in recovers the row; the pull moves it towards the prior"
    g = torch.Generator().manual_seed(1)
    fac,bias,true = torch.randn(60, 8, generator=g)*0.5,torch.randn(60, generator=g)*0.3,torch.randn(9, generator=g)*0.5
    y = torch.sigmoid(fac @ true[:-1] + true[-1] + bias)*5.5
    assert torch.allclose(fold_in(fac, bias, y, torch.zeros(9), (0, 5.5), wd=0), true, atol=1e-3)
    pulled = fold_in(fac, bias, y, torch.zeros(9), (0, 5.5), wd=100)
    assert pulled.norm() < true.norm()

def test_no_ratings_is_the_mean_user_and_the_biases(small):
    rec = Recommender(small)
    assert torch.equal(rec.fold({}), rec.prior)
    r = rec.recommend([], n=5)
    assert list(r.title) == [rec.titles[i] for i in (rec.item_bias[1:].argsort(descending=True)[:5]+1)]
    assert 'no ratings yet' in r.attrs['note'] and all(b == [] for b in r.because)

def test_recommendations_exclude_the_rated_films_and_give_reasons_among_the_liked(small):
    rec = Recommender(small)
    mine = [(rec.titles[1], 5), (rec.titles[2], 4), (rec.titles[3], 1)]
    r = rec.recommend(mine, n=len(rec.titles))
    assert not set(r.title) & {t for t,_ in mine} and '#na#' not in set(r.title)
    assert len(r) == len(rec.titles) - 4  # every other film, once
    assert list(r.predicted) == sorted(r.predicted, reverse=True)
    assert {t for b in r.because for t,_ in b} <= {rec.titles[1], rec.titles[2]}  # reasons are films rated 3.5 or more

def test_the_fold_in_changes_nothing_in_the_model(small):
    before = [p.detach().clone() for p in small.model.parameters()]
    Recommender(small).recommend([(Recommender(small).titles[1], 5)])
    assert all(torch.equal(a, b) for a,b in zip(before, small.model.parameters()))

def test_titles_are_matched_forgivingly_and_the_last_rating_stands(small):
    rec = Recommender(small)
    t = rec.titles[5]  # 'Film N (19xx)'
    name = t.rsplit(' (', 1)[0]
    assert rec.match(name.upper()) == t and rec.match(f'  {name.lower()} ') == t
    assert rec.clean([(name, 5), (t, 2)]) == {t: 2.0}

@pytest.mark.parametrize('rating', [0, 0.4, 5.5, 10, -1, 'five', 'nan', 'inf', ''])
def test_a_rating_outside_the_range_is_refused(small, rating):
    with pytest.raises(RatingError, match='give a number from 0.5 to 5'): Recommender(small).clean([(Recommender(small).titles[1], rating)])

def test_unknown_and_empty_titles_and_too_many(small):
    rec = Recommender(small)
    with pytest.raises(RatingError, match=r"no film of the model matches 'Flim 3'. Closest: Film 3 \(1953\)"): rec.match('Flim 3')
    with pytest.raises(RatingError, match='without a title'): rec.match('   ')
    with pytest.raises(RatingError, match='at most 300'): rec.match('x'*301)
    with pytest.raises(RatingError, match='at most 500'): rec.clean([(rec.titles[1], 4)]*501)

@pytest.mark.slow
def test_ambiguous_titles_ask_for_the_year(chapter):
    rec = Recommender(chapter)
    with pytest.raises(RatingError, match=r'names 2 films: Cape Fear \(1962\); Cape Fear \(1991\). Add the year'): rec.match('cape fear')
    assert rec.match('cape fear (1991)') == 'Cape Fear (1991)' and rec.match('Cape Fear (1962)') == 'Cape Fear (1962)'
    assert rec.match('the silence of the lambs') == 'Silence of the Lambs, The (1991)'

def test_a_model_that_cannot_be_folded_into(synthetic_ratings):
    nn = run_experiment('collab_nn', synthetic_ratings, epochs=1, bar=False, echo=lambda e: None).learn
    with pytest.raises(UsageError, match='not a dot product with biases'): Recommender(nn)

def test_cold_start_measures_both_on_the_same_ratings(small, synthetic_ratings):
    "On held-out users of the synthetic data (the small model knows them, but the function's bookkeeping is what is checked)"
    users = held_out_users(synthetic_ratings, n=5, min_ratings=20, seed=0)
    res = cold_start(Recommender(small), synthetic_ratings, users, ks=(0, 1, 5))
    assert list(res.k) == [0, 1, 5] and res.film_mean.nunique() == 1 and (res.test_ratings > 0).all() and (res.users == 5).all()
    flat = cold_start(Recommender(small), synthetic_ratings, users, ks=(0, 1, 5), wd=1e9)  # a pull that allows no move: the mean user at every k
    assert flat.fold_in.max() - flat.fold_in.min() < 1e-4

def test_csv_parsing():
    assert parse_ratings('title,rating\nStar Wars,5\nSilence of the Lambs, The (1991),4\n') == [('Star Wars', '5'), ('Silence of the Lambs, The (1991)', '4')]
    with pytest.raises(RatingError, match='line 2.*has no rating'): parse_ratings('Star Wars,5\nAlien\n')
    with pytest.raises(RatingError, match='not a CSV'): parse_ratings('a\x00b,4')
    with pytest.raises(RatingError, match='more than 500'): parse_ratings('Star Wars,5\n'*501)

def test_the_terminal_asks_again_after_a_problem(small, monkeypatch):
    rec = Recommender(small)
    answers = iter([rec.titles[1].lower(), '9', '4', 'no such film at all', ''])
    monkeypatch.setattr('builtins.input', lambda prompt='': next(answers))
    said = []
    assert ask_ratings(rec, say=said.append) == [(rec.titles[1], 4.0)]
    assert any('0.5 to 5' in s for s in said) and any('no film of the model matches' in s for s in said)

def _csv(tmp_path, text, name='me.csv'):
    (tmp_path/name).write_text(text); return str(tmp_path/name)

def test_cli_recommend_rate(cli, model_file, tmp_path, small):
    rec = Recommender(small)
    code,out,err = cli('recommend', '--model', str(model_file), '--rate', _csv(tmp_path, f"title,rating\n{rec.titles[1]},5\n{rec.titles[2].lower()},1\n"), '-n', '4')
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4 and 'from your 2 ratings' in err
    assert not {rec.titles[1], rec.titles[2]} & {l.split('  ', 1)[1].split('   (like')[0] for l in lines}

def test_cli_recommend_rate_from_stdin(cli, model_file, small, monkeypatch):
    rec = Recommender(small)
    monkeypatch.setattr('sys.stdin', io.StringIO(f"{rec.titles[1]},5\n"))
    code,out,err = cli('recommend', '--model', str(model_file), '--rate', '-', '-n', '3')
    assert code == 0 and len(out.strip().splitlines()) == 3 and 'from your 1 rating' in err

def test_cli_no_ratings_says_so(cli, model_file, tmp_path):
    code,out,err = cli('recommend', '--model', str(model_file), '--rate', _csv(tmp_path, 'title,rating\n'), '-n', '3')
    assert code == 0 and 'no ratings yet' in err and len(out.strip().splitlines()) == 3

@pytest.mark.parametrize('content,msg', [
    ('Flim 3,4\n', 'Closest: Film 3 (1953)'),
    ('Film 3 (1953),7\n', 'give a number from 0.5 to 5'),
    (b'PK\x03\x04\x14\x00\x06\x00\xff\xfe\xfd', 'not a CSV text file'),
    ('Film 3 (1953)\n', 'has no rating'),
])
def test_cli_bad_ratings_files(cli, model_file, tmp_path, content, msg):
    f = tmp_path/'bad.csv'
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    code,out,err = cli('recommend', '--model', str(model_file), '--rate', str(f))
    assert code == 2 and msg in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err

def test_cli_bad_arguments(cli, model_file, tmp_path):
    code,_,err = cli('recommend', '--model', str(model_file), '--rate', str(tmp_path/'none.csv'))
    assert code == 2 and 'no ratings file' in err
    code,_,err = cli('recommend', '--model', str(model_file), '--user', '3', '--rate', _csv(tmp_path, 'Film 3,4\n'))
    assert code == 2 and 'not both' in err

def test_cli_a_model_of_another_version(cli, tmp_path):
    "A model file whose class this version no longer has (as a pickle of another version of the package would be)"
    old = types.ModuleType('collab_fastai_old'); sys.modules['collab_fastai_old'] = old
    class OldModel: pass
    OldModel.__module__,OldModel.__qualname__ = 'collab_fastai_old','OldModel'; old.OldModel = OldModel
    torch.save(OldModel(), tmp_path/'old.pkl'); del sys.modules['collab_fastai_old']
    code,_,err = cli('recommend', '--model', str(tmp_path/'old.pkl'), '--rate', _csv(tmp_path, 'Film 3,4\n'))
    assert code == 2 and 'saved by another version of collab_fastai or fastai' in err and 'Traceback' not in err

@pytest.mark.slow
def test_the_chapters_model_recommends_to_a_new_person(chapter, ratings):
    "The fold-in, on the real model: a person who rates the Star Wars films high is recommended films like them (with reasons), none they rated"
    rec = Recommender(chapter)
    me = [('star wars', 5), ('the empire strikes back', 5), ('return of the jedi', 4.5), ('scream', 1)]
    r = rec.recommend(me, n=10)
    rated = set(rec.clean(me))
    assert len(r) == 10 and not set(r.title) & rated and r.predicted.between(0, 5.5).all()
    assert all(b and {t for t,_ in b} <= rated - {'Scream (1996)'} for b in r.because)
    # the prediction for a held-back film of the same kind rises with the ratings of its likes
    raiders = rec.index['Raiders of the Lost Ark (1981)']
    assert rec.predict(rec.clean(me))[raiders] > rec.predict({})[raiders]
