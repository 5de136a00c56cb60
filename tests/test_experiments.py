"The chapter's models and experiments: shapes, the seed protocol, and the fast loader's bit-identical batches and losses."
import math, pytest, torch
from fastai.collab import get_emb_sz
from collab_fastai.core import UsageError
from collab_fastai.data import collab_dls
from collab_fastai.models import *
from collab_fastai.experiments import *
from collab_fastai.fast import *

def losses(run): return [(e['train_loss'], e['valid_loss']) for e in run.epochs]

def test_models_shapes_and_ranges():
    x = torch.tensor([[0, 1], [3, 4], [2, 0]])
    for m, shape in [(DotProduct(4, 5, 3), (3,)), (DotProduct(4, 5, 3, y_range=(0, 5.5)), (3,)),
                     (DotProductBias(4, 5, 3), (3, 1)), (DotProductBiasParams(4, 5, 3), (3,)),
                     (CollabNN((4, 3), (5, 6)), (3, 1))]:
        assert tuple(m(x).shape) == shape
        if getattr(m, 'y_range', None): assert ((m(x) > 0) & (m(x) < 5.5)).all()

def test_collab_nn_parameters_on_the_books_sizes():
    m = CollabNN((944, 74), (1635, 101))
    assert sum(p.numel() for p in m.parameters()) == 944*74 + 1635*101 + 175*100 + 100 + 100 + 1
    assert m.layers[0].in_features == 175 and m.layers[2].out_features == 1

def test_create_params_init():
    torch.manual_seed(0)
    p = create_params([2000, 50])
    assert p.requires_grad and abs(p.mean().item()) < 1e-3 and abs(p.std().item() - 0.01) < 5e-4

def test_unknown_experiment():
    with pytest.raises(UsageError, match='choose from dot_product, dot_product_y_range'): get_experiment('dot')

def test_epochs_must_be_positive(synthetic_ratings):
    with pytest.raises(UsageError, match='at least 1'): run_experiment('collab_nn', synthetic_ratings, epochs=0)

@pytest.mark.parametrize('name', list(EXPERIMENTS))
def test_every_experiment_trains_and_reruns_identically(synthetic_ratings, name):
    a, b = [run_experiment(name, synthetic_ratings, seed=3, epochs=2, bar=False, echo=lambda e: None) for _ in range(2)]
    assert [e['epoch'] for e in a.epochs] == [0, 1]
    assert all(math.isfinite(v) and v > 0 for e in a.epochs for v in (e['train_loss'], e['valid_loss'], e['seconds']))
    assert losses(a) == losses(b)

@pytest.mark.parametrize('profile', ['book', 'fastai'])
@pytest.mark.parametrize('name', list(EXPERIMENTS))
def test_fast_and_stock_loaders_give_identical_losses(synthetic_ratings, name, profile):
    fast, stock = [run_experiment(name, synthetic_ratings, profile, seed=4, epochs=2, loader=l, bar=False, echo=lambda e: None)
                   for l in ('fast', 'stock')]
    assert losses(fast) == losses(stock)

def epochs_of_batches(dls, n=2):
    "All batches of `n` training epochs, then the validation batches"
    return [b for _ in range(n) for b in dls.train] + list(dls.valid)

@pytest.mark.parametrize('profile', ['book', 'fastai'])
@pytest.mark.parametrize('bs', [16, 7])  # 7 leaves a partial last batch: dropped in training, kept in validation
def test_fast_loader_batches_and_api(synthetic_ratings, profile, bs):
    # each loader is built (seeded) and drained before the next: TabWeightedDL draws from numpy's global generator
    fast = collab_dls(synthetic_ratings, profile, seed=2, bs=bs, dl_type=loader_type(profile, 'fast'))
    fast_batches = epochs_of_batches(fast)
    stock = collab_dls(synthetic_ratings, profile, seed=2, bs=bs)
    stock_batches = epochs_of_batches(stock)
    assert isinstance(fast.train, type(stock.train)) and fast.classes == stock.classes and get_emb_sz(fast) == get_emb_sz(stock)
    assert len(fast_batches) == len(stock_batches)
    for (xf, yf), (xs, ys) in zip(fast_batches, stock_batches):
        assert torch.equal(xf, xs) and torch.equal(yf, ys) and xf.dtype == xs.dtype and yf.dtype == ys.dtype
    assert fast.one_batch()[0].shape == (bs, 2)
    fast.show_batch(max_n=2)  # decodes through ReadTabTensors

def test_unknown_loader():
    with pytest.raises(ValueError, match='choose from fast, stock'): loader_type('book', 'turbo')

def test_epoch_lines_without_a_terminal(synthetic_ratings, capsys):
    run_experiment('dot_product_bias', synthetic_ratings, epochs=2, bar=False)
    out = capsys.readouterr().out
    assert out.count('\n') == 2 and out.startswith('epoch 0  train_loss ')

def test_an_interrupted_fast_fit_leaves_the_learner_as_it_was(synthetic_ratings):
    from fastai.callback.core import Callback, _events
    class Stop(Callback):
        def after_batch(self):
            if self.iter == 2: raise KeyboardInterrupt
    learn = EXPERIMENTS['collab_nn'].learner(collab_dls(synthetic_ratings, dl_type=loader_type('book', 'fast')))
    with pytest.raises(KeyboardInterrupt):
        with learn.no_bar(), learn.no_logging(), fast_fit(learn): learn.fit(1, cbs=Stop())
    assert '_call_one' not in learn.__dict__ and not any(ev in cb.__dict__ for cb in learn.cbs for ev in _events)
    from fastai.torch_core import TensorBase
    assert type(TensorBase(torch.ones(1)) + 1) is TensorBase  # the subclass dispatch is on again
    with learn.no_bar(), learn.no_logging(): learn.fit(1)  # the stock dispatch works again
    assert len(learn.recorder.values) == 1

def test_fast_fit_keeps_fastais_behaviour(synthetic_ratings):
    "A callback of the user's still runs, and the Recorder and the optimizer's state end as in a stock fit"
    from fastai.callback.core import Callback
    class Count(Callback):
        def __init__(self): self.n = 0
        def after_batch(self): self.n += 1
    def fit(loader):
        dls = collab_dls(synthetic_ratings, 'book', seed=1, dl_type=loader_type('book', loader))
        learn = EXPERIMENTS['collab_nn'].learner(dls)
        count = Count()
        with learn.no_bar(), learn.no_logging(), fast_fit(learn, loader): learn.fit_one_cycle(2, 5e-3, wd=0.01, cbs=count)
        rec = learn.recorder
        assert not {'_call_one', '_set_device'} & set(learn.__dict__) and not {'step', 'zero_grad', 'set_hyper'} & set(learn.opt.__dict__)
        return count.n, rec.values, rec.losses, rec.lrs, [rec.hps[k] for k in sorted(rec.hps)], learn.opt.state_dict()['state']
    fast, stock = fit('fast'), fit('stock')
    assert fast[0] == stock[0] > 0
    assert fast[1:5] == stock[1:5]
    for a, b in zip(fast[5], stock[5]):
        assert a['step'] == b['step'] and torch.equal(a['grad_avg'], b['grad_avg']) and torch.equal(a['sqr_avg'], b['sqr_avg'])

# ---------------------------------------------------------------------------------------------------------------
# the run store (05_experiments): a run asked for with reuse=True is trained once and read back, never a stale one

@pytest.fixture
def fits(monkeypatch):
    "The experiments each call trains (by `Learner.fit`), in order"
    from fastai.learner import Learner
    calls, fit = [], Learner.fit
    def counted(self, *args, **kwargs):
        calls.append(type(self.model).__name__)
        return fit(self, *args, **kwargs)
    monkeypatch.setattr(Learner, 'fit', counted)
    return calls

def _weights(run): return {k: v.tolist() for k, v in run.learn.model.state_dict().items()}

def test_a_run_is_trained_once_then_read_back_bit_identically(synthetic_ratings, tmp_path, fits, capsys):
    from collab_fastai.study import run_store
    with run_store(tmp_path):
        a = run_experiment('collab_nn', synthetic_ratings, seed=3, epochs=2, bar=False, echo=lambda e: None, reuse=True)
        b = run_experiment('collab_nn', synthetic_ratings, seed=3, epochs=2, bar=False, reuse=True)
    assert fits == ['CollabNN'] and b.epochs == a.epochs and _weights(b) == _weights(a)
    assert b.learn.model.training == a.learn.model.training
    out = capsys.readouterr().out
    assert 'collab_nn: read back from the run store' in out and out.count('train_loss') == 2  # its epochs, as training prints them

def test_a_stale_run_is_never_read_back(synthetic_ratings, tmp_path, fits, monkeypatch):
    from collab_fastai.study import run_store
    import collab_fastai.study as st
    kw = dict(seed=3, epochs=1, bar=False, echo=lambda e: None)
    with run_store(tmp_path):
        run_experiment('dot_product_bias', synthetic_ratings, reuse=True, **kw)
        run_experiment('dot_product_bias', synthetic_ratings, **kw)  # reuse is asked for, never assumed
        run_experiment('dot_product_bias', synthetic_ratings.assign(rating=synthetic_ratings.rating.clip(2, 5)), reuse=True, **kw)  # other data
        run_experiment('dot_product_bias', synthetic_ratings, reuse=True, lr=1e-2, **kw)  # other settings
        run_experiment('dot_product_bias', synthetic_ratings, reuse=True, learner=EXPERIMENTS['dot_product_bias'].learner, **kw)  # a model of one's own
        assert len(fits) == 5
        monkeypatch.setattr(st, 'code_hash', lambda: 'code edited since')  # other code (or other versions of the libraries)
        run_experiment('dot_product_bias', synthetic_ratings, reuse=True, **kw)
        assert len(fits) == 6
        monkeypatch.undo()
        run_experiment('dot_product_bias', synthetic_ratings, reuse=True, **kw)  # the first run, read back
    assert len(fits) == 6
    assert len(list(tmp_path.glob('experiments/*.pth'))) == 4  # the first, other data, other settings, other code: not the own model's

def test_without_a_store_reuse_trains(synthetic_ratings, fits):
    from collab_fastai.study import shared_runs
    assert shared_runs() is None  # tests run without the CI's store unless they ask for it (conftest)
    run_experiment('dot_product_bias', synthetic_ratings, seed=3, epochs=1, bar=False, echo=lambda e: None, reuse=True)
    assert len(fits) == 1
