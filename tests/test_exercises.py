"Course exercises: checking a student's model against the book, cross-entropy over the ratings, other MovieLens releases."
import textwrap, pytest, torch
from collab_fastai.core import DataError, UsageError
from collab_fastai.data import collab_dls
from collab_fastai.experiments import run_experiment
from collab_fastai.models import DotProductBias, CollabNN
from collab_fastai.teach.exercises import *
from collab_fastai.scale.datasets import load_dataset

def losses(epochs): return [(e['train_loss'], e['valid_loss']) for e in epochs]

STUDENT = textwrap.dedent('''
    from fastai.layers import Embedding, sigmoid_range
    from fastai.torch_core import Module
    class MyDotProductBias(Module):
        def __init__(self, n_users, n_movies, n_factors, y_range=(0,5.5)):
            self.user_factors = Embedding(n_users, n_factors)
            self.user_bias = Embedding(n_users, 1)
            self.movie_factors = Embedding(n_movies, n_factors)
            self.movie_bias = Embedding(n_movies, 1)
            self.y_range = y_range
        def forward(self, x):
            res = (self.user_factors(x[:,0]) * self.movie_factors(x[:,1])).sum(dim=1, keepdim=True)
            res += self.user_bias(x[:,0]) + self.movie_bias(x[:,1])
            return sigmoid_range(res, *self.y_range)
    class TooFewArgs(Module):
        def __init__(self, n_users): pass
''')

@pytest.fixture
def student_file(tmp_path):
    (tmp_path/'my_models.py').write_text(STUDENT)
    return tmp_path/'my_models.py'

def test_a_faithful_copy_gives_the_experiments_numbers(synthetic_ratings, student_file):
    cls = load_class(f'{student_file}:MyDotProductBias')
    mine = check_against_book(cls, 'dot_product_bias_wd', ratings=synthetic_ratings, show=False)
    book = run_experiment('dot_product_bias_wd', synthetic_ratings, echo=lambda e: None, bar=False)
    assert losses(mine['epochs']) == losses(book.epochs)
    assert list(mine['table'].columns) == ['epoch', 'train_loss', 'book_train', 'train_diff', 'valid_loss', 'book_valid', 'valid_diff', 'seconds']

def test_nn_experiments_pass_the_embedding_sizes(synthetic_ratings):
    dls = collab_dls(synthetic_ratings)
    assert isinstance(build_model(CollabNN, 'collab_nn', dls), CollabNN)

@pytest.mark.parametrize('forward, msg', [
    (lambda self, x: self.e(x[:, 0]), 'one prediction per row'),
    (lambda self, x: self.e(x[:, 0]).sum(1) * float('nan'), 'NaN'),
    (lambda self, x: x[:, 5], 'calling your model on a batch failed'),
])
def test_student_mistakes(synthetic_ratings, forward, msg):
    class M(torch.nn.Module):
        def __init__(self, n_users, n_movies, n_factors):
            super().__init__(); self.e = torch.nn.Embedding(n_users, n_factors)
    M.forward = forward
    with pytest.raises(ModelCheckError, match=msg): build_model(M, 'dot_product', collab_dls(synthetic_ratings))

def test_a_class_that_cannot_be_built(synthetic_ratings, student_file):
    with pytest.raises(ModelCheckError, match=r'TooFewArgs\(.*\) raised TypeError.*MyModel\(n_users, n_movies, 50\)'):
        build_model(load_class(f'{student_file}:TooFewArgs'), 'dot_product_bias', collab_dls(synthetic_ratings))

def test_load_class_errors(tmp_path):
    with pytest.raises(UsageError, match='module:Class'): load_class('MyModel')
    with pytest.raises(UsageError, match='no file'): load_class(f'{tmp_path}/none.py:M')
    (tmp_path/'bad.py').write_text('def broken(:')
    with pytest.raises(ModelCheckError, match='importing .* failed: SyntaxError'): load_class(f'{tmp_path}/bad.py:M')
    with pytest.raises(ModelCheckError, match='has no Nope'): load_class('collab_fastai.models:Nope')
    assert load_class('collab_fastai.models:DotProductBias') is DotProductBias

def test_cross_entropy_pieces():
    assert torch.allclose(expected_rating(torch.zeros(2, 5)), torch.tensor([3., 3.]))
    assert rating_cross_entropy(torch.tensor([[0., 0, 0, 0, 50]]), torch.tensor([[5]])).item() < 1e-6

def test_cross_entropy_study_runs(synthetic_ratings):
    r = cross_entropy_study(synthetic_ratings, epochs=1)
    assert len(r) == 3 and (r.valid_mse > 0).all()

def test_other_movielens_releases(tmp_path):
    (tmp_path/'small').mkdir(); (tmp_path/'m1').mkdir()
    (tmp_path/'small'/'ratings.csv').write_text('userId,movieId,rating,timestamp\n1,1,4.5,964982703\n2,3,3.0,964982224\n')
    (tmp_path/'small'/'movies.csv').write_text('movieId,title,genres\n1,Toy Story (1995),Animation\n3,"Grumpier Old Men, The (1995)",Comedy\n')
    (tmp_path/'m1'/'ratings.dat').write_text('1::1193::5::978300760\n')
    (tmp_path/'m1'/'movies.dat').write_bytes('1193::Caf\xe9 (1996)::Drama\n'.encode('latin-1'))
    small, m1 = load_dataset('ml-latest-small', tmp_path/'small'), load_dataset('ml-1m', tmp_path/'m1')
    assert small.rating.tolist() == [4.5, 3.0] and list(small.columns) == ['user', 'movie', 'rating', 'timestamp', 'title']
    assert m1.title.tolist() == ['Café (1996)']
    with pytest.raises(DataError, match='ratings in ratings.dat and its titles in movies.dat'): load_dataset('ml-1m', tmp_path)

def test_check_cli_errors(cli, tmp_path):
    assert cli('check')[0] == 2
    code, out, err = cli('check', '--model', 'nomodule_xyz:M')
    assert code == 2 and 'importing nomodule_xyz failed' in err
    code, out, err = cli('check', '--model', 'collab_fastai.models:DotProductBias', '--experiment', 'nope')
    assert code == 2 and "invalid choice: 'nope'" in err

@pytest.mark.slow
def test_check_cli_on_the_real_data(cli, student_file, ml100k):
    code, out, err = cli('check', '--model', f'{student_file}:MyDotProductBias', '--data', str(ml100k))
    assert code == 0 and 'verdict: PASS' in out
