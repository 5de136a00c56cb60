"Slow: the whole chapter on the real data, judged against the book; reruns and loaders bit for bit."
import pytest
from collab_fastai.experiments import EXPERIMENTS, run_experiment
from collab_fastai.reproduce import reproduce, summary_table, BOOK_EMB_SZ

pytestmark = pytest.mark.slow

def losses(epochs): return [(e['train_loss'], e['valid_loss']) for e in epochs]

@pytest.fixture(scope='session')
def chapter(ml100k, tmp_path_factory, ci_runs):
    "The full chapter, book profile, seed 1, as `collab-fastai reproduce` runs it (a few minutes; trained once per CI)"
    out = tmp_path_factory.mktemp('reproduction')
    with ci_runs(): res = reproduce(profile='book', seed=1, out=out, data=ml100k)
    print(summary_table(res))
    return res, out

def test_every_verdict_and_claim_passes(chapter):
    res, out = chapter
    book = res['profiles']['book']
    assert [tuple(o) for o in book['emb_sz']] == BOOK_EMB_SZ
    failed = {n: [c for c in e['checks'] if not c['passed']] for n, e in book['experiments'].items() if not e['passed']}
    assert failed == {}, summary_table(res)
    assert len(book['claims']) == 4 and all(c['passed'] for c in book['claims']), book['claims']
    assert res['passed'] is True
    assert {p.name for p in out.iterdir()} >= {'results.json', 'report.md'} | {f'{n}.png' for n in EXPERIMENTS}

def test_collab_nn_passes_its_verdict(chapter):
    assert chapter[0]['profiles']['book']['experiments']['collab_nn']['passed'] is True

def test_one_experiment_alone_reruns_bit_identically(chapter, ratings):
    alone = run_experiment('dot_product_bias_wd', ratings, 'book', seed=1, bar=False, echo=lambda e: None)
    assert losses(alone.epochs) == losses(chapter[0]['profiles']['book']['experiments']['dot_product_bias_wd']['epochs'])

def test_stock_loader_full_run_is_bit_identical_to_fast(chapter, ratings):
    stock = run_experiment('collab_nn', ratings, 'book', seed=1, loader='stock', bar=False, echo=lambda e: None)
    assert losses(stock.epochs) == losses(chapter[0]['profiles']['book']['experiments']['collab_nn']['epochs'])

def test_fastai_profile_loaders_agree_on_real_data(ratings):
    fast, stock = [run_experiment('dot_product_bias_wd', ratings, 'fastai', seed=1, epochs=1, loader=l, bar=False, echo=lambda e: None)
                   for l in ('fast', 'stock')]
    assert losses(fast.epochs) == losses(stock.epochs)

def test_the_chapter_is_bit_identical_to_the_reference_numbers(chapter):
    "The portable numerics give, on this machine, the losses recorded on the machine that made golden.json"
    g = chapter[0]['golden']
    assert g['status'] == 'identical', g['text']
    assert len(g['diff']['experiments']) == len(EXPERIMENTS)
