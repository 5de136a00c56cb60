"Exercise checks: each accepts the answer of 42_solutions, rejects the usual mistakes with the hint that names them, and says 'not done yet' for 21's blanks."
import json, math, re
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
import torch.nn.functional as F
from torch import nn
from fastai.layers import Embedding, sigmoid_range
from fastai.torch_core import Module, one_hot
import collab_fastai.teach.checks as checks
from collab_fastai.teach.checks import *
from collab_fastai.models import DotProduct, DotProductBias, DotProductBiasParams, CollabNN

NBS = Path(__file__).parents[1]/'nbs'
ANSWERS = checks.ANSWERS  # each check and the name of the answer it is given

def code_cells(name:str)->list:
    "The code of the cells of notebook `name` that run without the slow flag"
    nb = json.loads((NBS/name).read_text())
    return [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code' and '#| slow' not in ''.join(c['source'])]

def run_nb(name:str)->dict:
    "The namespace after running the quick code cells of notebook `name`"
    ns = {'__name__': '__nb__'}
    for src in code_cells(name): exec(compile(src, name, 'exec'), ns)
    return ns

@pytest.fixture(scope='module')
def solutions(): return run_nb('42_solutions.ipynb')

@pytest.fixture(scope='module')
def exercises(): return run_nb('41_exercises.ipynb')

def check(name): return getattr(checks, name)

def rejected(r, hint:str):
    "`r` failed (not as a blank) with a hint that holds `hint`, and says so when shown"
    assert not r and r.passed is False and not r.todo, r
    assert hint.lower() in r.hint.lower(), r.hint
    assert repr(r).startswith(f'{r.name}: try again. Hint: ')

# ---------------------------------------------------------------------------------------------------------------
# the notebooks: 22's answers pass, 21's blanks are "not done yet", the two hold the same exercises

def test_every_check_has_an_exercise():
    assert sorted(n for n in checks.__all__ if n.startswith('check_')) == sorted(ANSWERS)

@pytest.mark.parametrize('name', ANSWERS)
def test_the_solutions_pass(solutions, name):
    r = check(name)(solutions[ANSWERS[name]])
    assert r and r.passed and not r.todo, r
    assert repr(r).startswith(f'{name}: passed. ')

@pytest.mark.parametrize('name', ANSWERS)
def test_the_blanks_are_not_done_yet(exercises, name):
    r = check(name)(exercises[ANSWERS[name]])
    assert not r and r.todo and r.hint.startswith('not done yet: '), r
    assert repr(r).startswith(f'{name}: not done yet: ')

def test_exercises_and_solutions_match():
    calls = lambda nb: sorted(set(re.findall(r'\b(check_\w+)\(', '\n'.join(code_cells(nb)))))
    assert calls('41_exercises.ipynb') == calls('42_solutions.ipynb') == sorted(ANSWERS)
    for name,answer in ANSWERS.items():  # 21 has a blank where 22 has the answer
        blank = [c for c in code_cells('41_exercises.ipynb') if re.search(rf'^(def|class) {answer}\b', c, re.M)]
        assert len(blank) == 1 and '...' in blank[0], answer
    assert not any('default_exp' in c for c in code_cells('41_exercises.ipynb') + code_cells('42_solutions.ipynb'))

# ---------------------------------------------------------------------------------------------------------------
# the result, blanks, and answers that are not answers

def test_result():
    ok,bad = CheckResult('check_dot', True, 'it sums.'),CheckResult('check_dot', False, 'add them up.')
    assert ok and not bad and repr(bad) == 'check_dot: try again. Hint: Add them up.'
    assert repr(CheckResult('check_dot', False, 'emb_sz(3) returned 2.0')) == 'check_dot: try again. Hint: emb_sz(3) returned 2.0'

def _raise(*args, **kwargs): raise NotImplementedError
def _none(*args, **kwargs): ...
class BlankModel(Module):
    def __init__(self, *args, **kwargs): ...
    def forward(self, x): ...
class RaisingModel(Module):
    def __init__(self, *args, **kwargs): raise NotImplementedError
class NoInit(Module): ...
class InitOnly(DotProductBias):
    def forward(self, x): ...

MODELS = ('check_dot_product', 'check_dot_product_bias', 'check_collab_nn')
BLANKS = [(name, blank) for name in ANSWERS
          for blank in [None, ...] + ([BlankModel, RaisingModel, NoInit] if name in MODELS else [_raise, _none])]

@pytest.mark.parametrize('name, blank', BLANKS, ids=[f'{n}-{getattr(b, "__name__", repr(b))}' for n,b in BLANKS])
def test_blanks(name, blank):
    r = check(name)(blank)
    assert not r and r.todo and r.hint.startswith('not done yet: '), r

@pytest.mark.parametrize('cls, hint', [(NoInit, 'has no __init__ yet'), (InitOnly, 'forward returns nothing yet')])
def test_half_done_models(cls, hint):
    r = check_dot_product_bias(cls)
    assert r.todo and hint in r.hint, r

@pytest.mark.parametrize('name, answer, hint', [
    ('check_dot_product', DotProduct(3, 3, 3), 'pass the class itself'),
    ('check_collab_nn', 'CollabNN', 'must be a class'),
    ('check_dot', 'dot', 'must be a function'),
    ('check_dot', lambda a: a, 'raised TypeError'),
    ('check_recommend', lambda preds, titles, rated, n: 42, 'return a list of titles'),
])
def test_answers_that_are_not_answers(name, answer, hint):
    rejected(check(name)(answer), hint)

def test_the_checks_leave_the_random_numbers_alone(solutions):
    torch.manual_seed(3); want = torch.rand(3)
    torch.manual_seed(3)
    for name,answer in ANSWERS.items(): check(name)(solutions[answer])
    assert torch.equal(torch.rand(3), want)

# ---------------------------------------------------------------------------------------------------------------
# the usual mistakes

@pytest.mark.parametrize('fn, hint', [
    (lambda a, b: a*b, 'add the products up: (a*b).sum()'),
    (lambda a, b: a.sum()*b.sum(), 'multiply factor by factor'),
    (lambda a, b: (a*b).sum(), 'sum over the factors only'),
    (lambda a, b: (a*b).sum(0), 'dim=0 adds up the rows'),
    (lambda a, b: a @ b.t(), 'every row of a with every row of b'),
    (lambda a, b: torch.dot(a, b), 'torch.dot takes two vectors only'),
    (lambda a, b: (a*b).sum(dim=1), 'a vector has one dimension only'),
    (lambda a, b: (a*b).sum(-1).long(), 'whole numbers'),
], ids=['no sum', 'sum of sums', 'sum of the batch', 'dim 0', 'matmul', 'torch.dot', 'dim 1 on vectors', 'int'])
def test_dot_mistakes(fn, hint): rejected(check_dot(fn), hint)

def test_dot_accepts_keepdim(): assert check_dot(lambda a, b: (a*b).sum(-1, keepdim=True))

class MyDP(Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=None):
        self.user_factors,self.movie_factors,self.y_range = Embedding(n_users, n_factors),Embedding(n_movies, n_factors),y_range
    def dot(self, x): return (self.user_factors(x[:,0]) * self.movie_factors(x[:,1])).sum(dim=1)
    def forward(self, x): return self.squeeze(self.dot(x))
    def squeeze(self, res): return res if self.y_range is None else sigmoid_range(res, *self.y_range)

def dp(forward=None, init=None, squeeze=None):
    "`MyDP` with one method replaced: a student's mistake"
    return type('Student', (MyDP,), {k: v for k,v in dict(forward=forward, __init__=init, squeeze=squeeze).items() if v})

def _embs(emb, nu, nm, nf): return emb(nu, nf),emb(nm, nf)
def _std1(self, n_users, n_movies, n_factors, y_range=None):
    self.user_factors,self.movie_factors = _embs(nn.Embedding, n_users, n_movies, n_factors); self.y_range = y_range
def _zeros(self, n_users, n_movies, n_factors, y_range=None):
    _std1(self, n_users, n_movies, n_factors, y_range)
    for e in (self.user_factors, self.movie_factors): nn.init.zeros_(e.weight)
def _names(self, n_users, n_movies, n_factors, y_range=None):
    self.users,self.movies = _embs(Embedding, n_users, n_movies, n_factors); self.y_range = y_range
def _plain(self, n_users, n_movies, n_factors, y_range=None):
    self.user_factors = torch.zeros(n_users, n_factors).normal_(0, 0.01)
    self.movie_factors = torch.zeros(n_movies, n_factors).normal_(0, 0.01); self.y_range = y_range
def _no_y_range_arg(self, n_users, n_movies, n_factors):
    self.user_factors,self.movie_factors = _embs(Embedding, n_users, n_movies, n_factors)
class NoSuper(nn.Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=None): self.user_factors = Embedding(n_users, n_factors)

@pytest.mark.parametrize('cls, hint', [
    (dp(forward=lambda self, x: self.user_factors(x[:,0]) * self.movie_factors(x[:,1])), 'sum the product over the factors: (users*movies).sum(dim=1)'),
    (dp(forward=lambda self, x: (self.user_factors(x[:,0]) * self.movie_factors(x[:,1])).sum()), 'one number for a batch'),
    (dp(forward=lambda self, x: self.user_factors(x[:,0]) @ self.movie_factors(x[:,1]).t()), 'pairs every user with every movie'),
    (dp(forward=lambda self, x: self.squeeze((self.user_factors(x[:,0]) * self.movie_factors(x[:,0])).sum(1))), 'look the users up with x[:,0]'),
    (dp(forward=lambda self, x: self.squeeze((self.user_factors(x[:,1]) * self.movie_factors(x[:,0])).sum(1))), 'x[:,0] holds the user indices'),
    (dp(forward=lambda self, x: self.squeeze(self.dot(x).detach())), 'no gradient flows back'),
    (dp(squeeze=lambda self, res: res), 'sigmoid_range(res, *self.y_range) when y_range is given'),
    (dp(squeeze=lambda self, res: res if self.y_range is None else torch.sigmoid(res)), 'torch.sigmoid squeezes into (0, 1)'),
    (dp(squeeze=lambda self, res: res if self.y_range is None else sigmoid_range(res, 0, 5.5)), 'not fixed numbers'),
    (dp(squeeze=lambda self, res: sigmoid_range(res, 0, 5.5)), 'with y_range=None return the dot product itself'),
    (dp(init=_std1), "torch's nn.Embedding starts at std 1"),
    (dp(init=_zeros), 'starts at 0'),
    (dp(init=_names), 'the book calls this one user_factors'),
    (dp(init=_plain), 'plain tensors, not parameters'),
    (dp(init=_no_y_range_arg), 'add that argument'),
    (NoSuper, 'super().__init__()'),
], ids=['no sum', 'sum of the batch', 'matmul', 'movies by x[:,0]', 'users by x[:,1]', 'detach', 'no y_range', 'sigmoid',
        'fixed y_range', 'y_range always', 'std 1', 'zeros', 'names', 'plain tensors', 'no y_range argument', 'no super init'])
def test_dot_product_mistakes(cls, hint): rejected(check_dot_product(cls), hint)

def test_dot_product_first_version():
    "The book's first DotProduct has no y_range: `y_range=False` checks it as it is"
    class First(Module):
        def __init__(self, n_users, n_movies, n_factors): _no_y_range_arg(self, n_users, n_movies, n_factors)
        def forward(self, x): return (self.user_factors(x[:,0]) * self.movie_factors(x[:,1])).sum(dim=1)
    assert check_dot_product(First, y_range=False)
    rejected(check_dot_product(First), 'add that argument')

class MyDPB(Module):
    def __init__(self, n_users, n_movies, n_factors, y_range=(0,5.5)):
        self.user_factors,self.movie_factors = _embs(Embedding, n_users, n_movies, n_factors)
        self.user_bias,self.movie_bias = _embs(Embedding, n_users, n_movies, 1)
        self.y_range = y_range
    def parts(self, x, keepdim=True):
        return ((self.user_factors(x[:,0]) * self.movie_factors(x[:,1])).sum(dim=1, keepdim=keepdim),
                self.user_bias(x[:,0]), self.movie_bias(x[:,1]))
    def forward(self, x):
        dot,bu,bm = self.parts(x)
        return sigmoid_range(dot + bu + bm, *self.y_range)

def dpb(forward=None, init=None):
    return type('Student', (MyDPB,), {k: v for k,v in dict(forward=forward, __init__=init).items() if v})

def _no_keepdim_inplace(self, x):
    dot,bu,bm = self.parts(x, keepdim=False)
    dot += bu + bm
    return sigmoid_range(dot, *self.y_range)
def _bias_init(emb, zero=False, drop=None):
    def init(self, n_users, n_movies, n_factors, y_range=(0,5.5)):
        MyDPB.__init__(self, n_users, n_movies, n_factors, y_range)
        self.user_bias,self.movie_bias = _embs(emb, n_users, n_movies, 1)
        if zero:
            for b in (self.user_bias, self.movie_bias): nn.init.zeros_(b.weight)
        if drop: delattr(self, drop)
    return init
def _params_keepdim(self, x):
    dot = (self.user_factors[x[:,0]] * self.movie_factors[x[:,1]]).sum(dim=1, keepdim=True)
    return sigmoid_range(dot + self.user_bias[x[:,0]] + self.movie_bias[x[:,1]], *self.y_range)
def _no_default(self, n_users, n_movies, n_factors, y_range): MyDPB.__init__(self, n_users, n_movies, n_factors, y_range)

@pytest.mark.parametrize('cls, hint', [
    (dpb(forward=_no_keepdim_inplace), 'keepdim=True'),
    (dpb(forward=lambda self, x: sigmoid_range(self.parts(x, False)[0] + self.parts(x)[1] + self.parts(x)[2], *self.y_range)), 'keepdim=True'),
    (type('Student', (DotProductBiasParams,), dict(forward=_params_keepdim)), 'sum without keepdim'),
    (dpb(forward=lambda self, x: sigmoid_range(self.parts(x)[0], *self.y_range)), 'add the biases'),
    (dpb(forward=lambda self, x: sigmoid_range(self.parts(x)[0] + self.parts(x)[1], *self.y_range)), "add the movie's bias too"),
    (dpb(forward=lambda self, x: sigmoid_range(self.parts(x)[0] + self.parts(x)[2], *self.y_range)), "add the user's bias too"),
    (dpb(forward=lambda self, x: sum(self.parts(x))), 'squeeze the prediction into y_range'),
    (dpb(forward=lambda self, x: torch.sigmoid(sum(self.parts(x)))), 'torch.sigmoid squeezes'),
    (dpb(forward=lambda self, x: sigmoid_range(self.parts(x)[0], *self.y_range) + self.parts(x)[1] + self.parts(x)[2]), 'before sigmoid_range'),
    (dpb(init=_bias_init(nn.Embedding)), 'user_bias starts with std'),
    (dpb(init=_bias_init(Embedding, drop='movie_bias')), 'your model has no movie_bias'),
    (dpb(init=_no_default), 'give the extra arguments defaults'),
], ids=['no keepdim +=', 'no keepdim +', 'vector biases, keepdim', 'no bias', 'no movie bias', 'no user bias', 'no y_range',
        'sigmoid', 'bias after sigmoid_range', 'bias std 1', 'no movie_bias', 'no default y_range'])
def test_dot_product_bias_mistakes(cls, hint): rejected(check_dot_product_bias(cls), hint)

def test_dot_product_bias_accepts():
    "The book's two versions, and biases that start at zero (harmless)"
    for cls in (DotProductBias, DotProductBiasParams, dpb(init=_bias_init(Embedding, zero=True))): assert check_dot_product_bias(cls)

def _sq(params): return sum((p**2).sum() for p in params)
@pytest.mark.parametrize('fn, hint', [
    (lambda loss, params, wd: loss + wd*sum(p.sum() for p in params), 'square the parameters'),
    (lambda loss, params, wd: loss + wd*sum(p.abs().sum() for p in params), 'not their absolute values'),
    (lambda loss, params, wd: loss + wd*sum((p**2).mean() for p in params), 'not .mean()'),
    (lambda loss, params, wd: loss - wd*_sq(params), "don't subtract it"),
    (lambda loss, params, wd: loss + _sq(params), 'multiply the sum of squares by wd'),
    (lambda loss, params, wd: wd*_sq(params), 'not the penalty alone'),
    (lambda loss, params, wd: loss + wd*(params[0]**2).sum(), 'not only one'),
    (lambda loss, params, wd: loss + wd*sum(p.norm() for p in params), "don't take the square root"),
    (lambda loss, params, wd: loss + wd/2*_sq(params), 'has no 1/2'),
    (lambda loss, params, wd: loss + 0.1*_sq(params), 'use the argument wd'),
    (lambda loss, params, wd: loss + wd*(params**2).sum(), 'params is a list of tensors'),
    (lambda loss, params, wd: loss + wd*sum(p**2 for p in params), 'different shapes'),
    (lambda loss, params, wd: loss + wd*torch.cat([p.reshape(-1)**2 for p in params]), 'add all the squares up'),
    (lambda loss, params, wd: (loss + wd*_sq(params)).item(), 'Python number'),
    (lambda loss, params, wd: loss + wd*_sq([p.detach() for p in params]), 'no gradient flows'),
], ids=['unsquared', 'abs', 'mean', 'minus', 'no wd', 'no loss', 'first only', 'norm', 'half', 'fixed wd', 'list**2',
        'unsummed broadcast', 'not summed', 'item', 'detach'])
def test_weight_decay_mistakes(fn, hint): rejected(check_weight_decay(fn), hint)

@pytest.mark.parametrize('fn, hint', [
    (lambda size: torch.zeros(*size).normal_(0, 0.01), 'wrap the tensor in nn.Parameter'),
    (lambda size: nn.Parameter(torch.randn(*size)), 'torch.randn gives std 1'),
    (lambda size: nn.Parameter(torch.zeros(*size)), 'all zeros'),
    (lambda size: nn.Parameter(torch.zeros(*size).normal_(0, 0.1)), 'std 0.1'),
    (lambda size: nn.Parameter(torch.zeros(*size).normal_(1, 0.01)), 'mean'),
    (lambda size: nn.Parameter(torch.tensor(size).float()), 'torch.tensor(size) holds the numbers of size'),
    (lambda size: nn.Parameter(torch.zeros(size[0]).normal_(0, 0.01)), 'has shape (7,), not (7, 4)'),
    (lambda size: nn.Parameter(torch.zeros(*size).normal_(0, 0.01), requires_grad=False), 'requires_grad'),
], ids=['no Parameter', 'randn', 'zeros', 'std 0.1', 'mean 1', 'tensor(size)', 'size[0]', 'no grad'])
def test_create_params_mistakes(fn, hint): rejected(check_create_params(fn), hint)

@pytest.mark.parametrize('fn, hint', [
    (lambda n: min(600, int(1.6 * n**0.56)), 'int(...) cuts the decimals off'),
    (lambda n: min(600, math.ceil(1.6 * n**0.56)), 'not up'),
    (lambda n: round(1.6 * n**0.56), 'cap the size at 600'),
    (lambda n: min(600, 1.6 * n**0.56), 'return a whole number'),
    (lambda n: np.round(min(600, 1.6 * n**0.56)), 'return a whole number'),
    (lambda n: min(600, round(1.6 * n**0.5)), 'The rule: min(600, round(1.6 * n_cat**0.56))'),
], ids=['int', 'ceil', 'no cap', 'float', 'np.round', 'exponent'])
def test_emb_sz_mistakes(fn, hint): rejected(check_emb_sz(fn), hint)

def test_emb_sz_accepts_numpy_ints(): assert check_emb_sz(lambda n: np.int64(min(600, round(1.6 * n**0.56))))

class MyNN(Module):
    def __init__(self, user_sz, item_sz, y_range=(0,5.5), n_act=100):
        self.user_factors,self.item_factors = Embedding(*user_sz),Embedding(*item_sz)
        self.layers = self.make_layers(user_sz, item_sz, n_act)
        self.y_range = y_range
    def make_layers(self, user_sz, item_sz, n_act): return nn.Sequential(nn.Linear(user_sz[1]+item_sz[1], n_act), nn.ReLU(), nn.Linear(n_act, 1))
    def cat(self, x): return torch.cat([self.user_factors(x[:,0]), self.item_factors(x[:,1])], dim=1)
    def forward(self, x): return sigmoid_range(self.layers(self.cat(x)), *self.y_range)

def cnn(forward=None, make_layers=None, init=None):
    return type('Student', (MyNN,), {k: v for k,v in dict(forward=forward, make_layers=make_layers, __init__=init).items() if v})

def _nn_init(emb=Embedding, item='item_factors', layers='layers'):
    def init(self, user_sz, item_sz, y_range=(0,5.5), n_act=100):
        self.user_factors = emb(*user_sz); setattr(self, item, emb(*item_sz))
        setattr(self, layers, MyNN.make_layers(self, user_sz, item_sz, n_act)); self.y_range = y_range
    return init

@pytest.mark.parametrize('cls, hint', [
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[1]+its[1], n), nn.Linear(n, 1))), 'nn.ReLU()'),
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[1], n), nn.ReLU(), nn.Linear(n, 1))), 'user_sz[1]+item_sz[1] inputs'),
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[0]+its[0], n), nn.ReLU(), nn.Linear(n, 1))), 'user_sz[0] is the number of users'),
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[1]+its[1], 50), nn.ReLU(), nn.Linear(50, 1))), 'n_act activations'),
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[1]+its[1], n), nn.ReLU(), nn.Linear(n, 5))), 'gives one number'),
    (cnn(make_layers=lambda self, us, its, n: nn.Sequential(nn.Linear(us[1]+its[1], n), nn.ReLU(), nn.Linear(n, n), nn.ReLU(), nn.Linear(n, 1))), "the book's two"),
    (cnn(forward=lambda self, x: self.layers(self.cat(x))), 'squeeze the prediction into y_range'),
    (cnn(forward=lambda self, x: torch.sigmoid(self.layers(self.cat(x)))), 'torch.sigmoid squeezes'),
    (cnn(forward=lambda self, x: sigmoid_range(self.layers(torch.cat([self.item_factors(x[:,1]), self.user_factors(x[:,0])], 1)), 0, 5.5)), "put the user's factors first"),
    (cnn(forward=lambda self, x: sigmoid_range(F.relu(self.layers(self.cat(x))), 0, 5.5)), 'no ReLU after the last Linear'),
    (cnn(init=_nn_init(emb=nn.Embedding)), 'std 1'),
    (cnn(init=_nn_init(item='movie_factors')), 'the book calls this one item_factors'),
    (cnn(init=_nn_init(layers='net')), 'put the layers in self.layers'),
], ids=['no ReLU', 'user_sz[1] inputs', 'user_sz[0] inputs', 'n_act ignored', '5 outputs', '3 Linear', 'no y_range', 'sigmoid',
        'items first', 'ReLU at the end', 'std 1', 'movie_factors', 'no self.layers'])
def test_collab_nn_mistakes(cls, hint): rejected(check_collab_nn(cls), hint)

def test_collab_nn_accepts_relu_in_forward():
    "The ReLU may be F.relu in forward instead of a module in layers"
    class FRelu(MyNN):
        def make_layers(self, us, its, n): return nn.Sequential(nn.Linear(us[1]+its[1], n), nn.Linear(n, 1))
        def forward(self, x): return sigmoid_range(self.layers[1](F.relu(self.layers[0](self.cat(x)))), *self.y_range)
    assert check_collab_nn(FRelu) and check_collab_nn(CollabNN)

def _inplace(factors, idx):
    factors /= factors.norm(dim=1, keepdim=True)
    return factors @ factors[idx]
@pytest.mark.parametrize('fn, hint', [
    (lambda f, i: f @ f[i], 'divide the dot product by the lengths of both vectors'),
    (lambda f, i: (f @ f[i]) / f.norm(dim=1), 'divide by the length of factors[idx] too'),
    (lambda f, i: (f @ f[i]) / f[i].norm(), 'divide by the length of each row too'),
    (lambda f, i: 1 - F.cosine_similarity(f, f[i][None]), 'not 1 minus it'),
    (lambda f, i: F.cosine_similarity(f, f[i][None]).sort(descending=True).values, 'in the order of the rows'),
    (lambda f, i: F.cosine_similarity(f, f[i][None]).argsort(descending=True), 'whole numbers'),
    (lambda f, i: F.cosine_similarity(f, f[i][None].expand_as(f), dim=0), 'dim=1'),
    (lambda f, i: F.cosine_similarity(f[:, None], f[None], dim=-1), 'compare every row with the one row'),
    (lambda f, i: F.cosine_similarity(f, f[2][None]), 'must be nn.CosineSimilarity'),
    (_inplace, 'changed the factors in place'),
], ids=['plain dot', 'one norm', 'other norm', 'distance', 'sorted', 'argsort', 'dim 0', 'matrix', 'fixed idx', 'in place'])
def test_cosine_similarity_mistakes(fn, hint): rejected(check_cosine_similarity(fn), hint)

def _order(preds, titles, reverse=False): return [titles[i] for i in preds.argsort(descending=not reverse)]
def _inplace_rec(preds, titles, rated, n=5):
    for i,t in enumerate(titles):
        if t in rated or t == '#na#': preds[i] = -1
    return _order(preds, titles)[:n]
@pytest.mark.parametrize('fn, hint', [
    (lambda p, t, r, n=5: [o for o in _order(p, t) if o != '#na#'][:n], 'already rated'),
    (lambda p, t, r, n=5: [o for o in _order(p, t) if o not in r][:n], "'#na#' is fastai's placeholder"),
    (lambda p, t, r, n=5: [o for o in _order(p, t, reverse=True) if o not in r and o != '#na#'][:n], 'not the lowest'),
    (lambda p, t, r, n=5: sorted([o for o in _order(p, t) if o not in r and o != '#na#'][:n]), 'put the best first'),
    (lambda p, t, r, n=5: [i for i in p.argsort(descending=True).tolist() if t[i] not in r and i][:n], 'not their indices'),
    (lambda p, t, r, n=5: [o for o in _order(p, t) if o not in r and o != '#na#'][:5], 'return n titles'),
    (lambda p, t, r, n=5: pd.DataFrame(dict(title=[o for o in _order(p, t) if o not in r][:n])), 'return a list of titles'),
    (_inplace_rec, 'changed preds in place'),
], ids=['rated', '#na#', 'lowest', 'unsorted', 'indices', 'always 5', 'DataFrame', 'in place'])
def test_recommend_mistakes(fn, hint): rejected(check_recommend(fn), hint)

def _xt(r): return r.pivot_table(index='user', columns='title', values='rating')
@pytest.mark.parametrize('fn, hint', [
    (lambda r: pd.crosstab(r.user, r.title), 'without values counts the ratings'),
    (lambda r: _xt(r).fillna(0), 'leave the cells without a rating empty'),
    (lambda r: r.pivot_table(index='user', columns='title', values='rating', fill_value=0), 'leave the cells without a rating empty'),
    (lambda r: _xt(r).T, 'put the users in the rows'),
    (lambda r: r.pivot_table(index='user', columns='movie', values='rating'), 'not per movie id'),
    (lambda r: r.groupby(['user', 'title']).rating.mean(), 'returned a Series'),
    (lambda r: r.pivot_table(index='user', columns='title', values='timestamp'), "values='rating'"),
    (lambda r: r.pivot_table(index='user', columns='title', values='rating', margins=True), 'one row per user'),
    (lambda r: (r.pop('timestamp'), _xt(r))[1], 'changed the ratings frame'),
], ids=['counts', 'fillna', 'fill_value', 'transposed', 'movie ids', 'Series', 'timestamps', 'margins', 'in place'])
def test_crosstab_mistakes(fn, hint): rejected(check_crosstab(fn), hint)

def test_crosstab_accepts():
    "pivot, pivot_table, crosstab with values and unstack all make the table"
    for fn in (_xt, lambda r: r.pivot(index='user', columns='title', values='rating'),
               lambda r: pd.crosstab(r.user, r.title, values=r.rating, aggfunc='mean'),
               lambda r: r.set_index(['user', 'title']).rating.unstack()): assert check_crosstab(fn)

def _replace(a, b):
    total = 0
    for x,y in zip(a, b): total = x*y
    return total
def _drop_last(a, b): return sum(a[i]*b[i] for i in range(len(a)-1))
def _append(a, b):
    a.append(0); b.append(0)
    return sum(x*y for x,y in zip(a, b))
@pytest.mark.parametrize('fn, hint', [
    (lambda a, b: [x*y for x,y in zip(a, b)], 'add the products up'),
    (lambda a, b: sum(a)*sum(b), 'sum(a)*sum(b) is not the same'),
    (lambda a, b: sum(x+y for x,y in zip(a, b)), 'not x+y'),
    (_replace, "don't replace it"),
    (_drop_last, 'leaves out the last one'),
    (lambda a, b: sum(a[i]*b[i] for i in range(1, len(a))), 'leaves out the first one'),
    (lambda a, b: np.dot(a, b), 'plain Python'),
    (lambda a, b: (torch.tensor(a)*torch.tensor(b)).sum(), 'plain Python'),
    (lambda a, b: a*b, 'take them in pairs'),
    (lambda a, b: str(sum(x*y for x,y in zip(a, b))), 'return one number'),
    (lambda a, b: None if not a else sum(x*y for x,y in zip(a, b)), 'for empty lists the sum of no products is 0'),
    (_append, 'changed the lists'),
], ids=['products', 'sum of sums', 'x+y', 'replace', 'last left out', 'first left out', 'numpy', 'torch', 'list*list', 'str', 'empty', 'append'])
def test_dot_lists_mistakes(fn, hint): rejected(check_dot_lists(fn), hint)

def test_dot_lists_accepts_a_loop():
    def loop(a, b):
        total = 0
        for i in range(len(a)): total += a[i]*b[i]
        return total
    assert check_dot_lists(loop) and check_dot_lists(lambda a, b: math.fsum(x*y for x,y in zip(a, b)))

@pytest.mark.parametrize('fn, hint', [
    (lambda w, i: w[i], 'without looking the rows up (weight[idx])'),
    (lambda w, i: F.embedding(i, w), 'without looking the rows up (F.embedding)'),
    (lambda w, i: w.index_select(0, i), 'without looking the rows up'),
    (lambda w, i: F.one_hot(i, len(w)) @ w, 'make them floats'),
    (lambda w, i: F.one_hot(i).float() @ w, 'num_classes=len(weight)'),
    (lambda w, i: F.one_hot(i, len(w)).float(), 'Yours returned the one-hot vectors'),
    (lambda w, i: w.t() @ F.one_hot(i, len(w)).float().t(), 'Yours is transposed'),
    (lambda w, i: (F.one_hot(i, len(w)).float() @ w).detach(), 'no gradient reaches the weight'),
    (lambda w, i: F.one_hot(i, len(w)).float() @ w.detach().clone().requires_grad_(), 'the gradient does not reach the weight'),
    (lambda w, i: one_hot(i, len(w)).float() @ w, 'one vector for all the indices'),
    (lambda w, i: F.one_hot(i, len(w)).float() @ w * 2, 'must equal weight[idx]'),
], ids=['index', 'F.embedding', 'index_select', 'int one-hot', 'no num_classes', 'no product', 'transposed', 'detach', 'copy',
        "fastai's one_hot", 'times 2'])
def test_one_hot_lookup_mistakes(fn, hint): rejected(check_one_hot_lookup(fn), hint)

def test_one_hot_lookup_accepts():
    assert check_one_hot_lookup(lambda w, i: torch.eye(len(w))[i] @ w)
    assert check_one_hot_lookup(lambda w, i: torch.matmul(F.one_hot(i, num_classes=w.shape[0]).to(w.dtype), w))

@pytest.mark.parametrize('fn, hint', [
    (lambda x: (x[0], x[1]), 'x[0] is the first row'),
    (lambda x: (x[:,1], x[:,0]), 'in that order'),
    (lambda x: (x[:,0:1], x[:,1:2]), 'keeps a column of shape (bs, 1)'),
    (lambda x: (x[:,[0]], x[:,[1]]), 'keeps a column of shape (bs, 1)'),
    (lambda x: x[:,0], 'return two things'),
    (lambda x: x, 'return two things'),
    (lambda x: (x[:,0].float(), x[:,1].float()), 'keep the indices whole numbers'),
    (lambda x: (x[:,0], x[:,0]), 'must return x[:,0], the users'),
    (lambda x: (x[:,0].tolist(), x[:,1].tolist()), 'as tensors'),
    (lambda x: (x.t_()[0], x[1]), 'changed the batch'),
], ids=['rows', 'swapped', 'slice', 'list index', 'one tensor', 'x', 'float', 'users twice', 'lists', 'in place'])
def test_users_and_movies_mistakes(fn, hint): rejected(check_users_and_movies(fn), hint)

def test_users_and_movies_accepts(): assert check_users_and_movies(lambda x: list(x.t())) and check_users_and_movies(lambda x: x.unbind(1))

def _top(v, t, n, descending=True): return [t[i] for i in v.argsort(descending=descending)[:n]]
@pytest.mark.parametrize('fn, hint', [
    (lambda v, t, n=5: _top(v, t, n, descending=False), 'sorts from the smallest'),
    (lambda v, t, n=5: [t[i] for i in v.argsort()[-n:]], 'put the largest first'),
    (lambda v, t, n=5: v.argsort(descending=True)[:n].tolist(), 'return the titles'),
    (lambda v, t, n=5: v.sort(descending=True).values[:n], 'not the positions or the values'),
    (lambda v, t, n=5: [t[i] for i in v.sort(descending=True).values[:n]], 'argsort() gives their positions'),
    (lambda v, t, n=5: _top(v, t, 5), 'return n titles'),
    (lambda v, t, n=5: ', '.join(_top(v, t, n)), 'return a list of titles'),
    (lambda v, t, n=5: _top(v[1:], t[1:], n), 'must be the'),
    (lambda v, t, n=5: _top(v.copy_(v.sort().values), t, n), 'changed values in place'),
], ids=['ascending', 'not reversed', 'positions', 'values', 'sort as index', 'always 5', 'str', 'first left out', 'sort_'])
def test_top_titles_mistakes(fn, hint): rejected(check_top_titles(fn), hint)

def test_top_titles_accepts():
    assert check_top_titles(lambda v, t, n=5: [t[i] for i in v.argsort()[-n:].flip(0)])
    assert check_top_titles(lambda v, t, n=5: [t[i] for i in v.topk(n).indices])

@pytest.mark.parametrize('fn, hint', [
    (lambda m: list(m.named_children()), 'named_children() stops at the top level'),
    (lambda m: list(m.named_modules()), 'also gives the model itself'),
    (lambda m: list(m.named_parameters()), 'those are parameters'),
    (lambda m: [k for k,l in m.named_modules() if not list(l.children())], 'not the names alone'),
    (lambda m: [l for l in m.modules() if not list(l.children())], 'not the layers alone'),
    (lambda m: [(k, l) for k,l in m.named_modules() if not list(l.children()) and list(l.parameters())], 'keep the layers without parameters too'),
    (lambda m: sorted([(k, l) for k,l in m.named_modules() if not list(l.children())], key=lambda o: o[0], reverse=True), 'keep the order'),
    (lambda m: str(m), 'return a list of (name, layer) pairs'),
    (lambda m: print(m), "don't forget `return`"),
], ids=['children', 'all modules', 'parameters', 'names', 'layers', 'with parameters only', 'reversed', 'str', 'print'])
def test_model_layers_mistakes(fn, hint):
    r = check_model_layers(fn)
    if r.todo: assert hint in r.hint, r
    else: rejected(r, hint)

def test_model_layers_accepts_children_recursion():
    "A recursive walk over children() gives the same names and layers"
    def walk(m, prefix=''):
        kids = list(m.named_children())
        if not kids: return [(prefix, m)]
        return [o for k,c in kids for o in walk(c, f'{prefix}.{k}' if prefix else k)]
    assert check_model_layers(walk)

# ---------------------------------------------------------------------------------------------------------------
# training against the book

def test_train_only_after_the_small_checks(synthetic_ratings):
    r = check_dot_product_bias(dpb(forward=lambda self, x: sum(self.parts(x))), train=True, ratings=synthetic_ratings)
    assert not r and r.book is None and 'squeeze' in r.hint

def test_train_compares_with_the_book(synthetic_ratings, solutions):
    "On other data the losses are not the book's: the check trains, and says they are off"
    r = check_dot_product_bias(solutions['DotProductBias'], train=True, ratings=synthetic_ratings, show=False)
    assert not r and not r.todo and r.book is not None and len(r.book['epochs']) == 5
    assert "its losses are off the book's" in r.hint

@pytest.mark.slow
@pytest.mark.parametrize('name', ['check_dot_product', 'check_dot_product_bias', 'check_collab_nn'])
def test_the_solutions_train_as_the_book(ratings, solutions, name):
    "Each model answer trains as the book's experiment (`dot_product`, `dot_product_bias_wd`, `collab_nn`) within its tolerances"
    r = check(name)(solutions[ANSWERS[name]], train=True, ratings=ratings, show=False)
    assert r and r.book['passed'], r
    assert "its losses match the book's" in r.hint
