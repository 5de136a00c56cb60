"Verdicts, claims, files written whole, and the reproduce command's argument errors (found before any training)."
import json, os, pytest
from pathlib import Path
from collab_fastai.reproduce import *

def as_epochs(rows): return [dict(epoch=i, train_loss=t, valid_loss=v, seconds=1.) for i, (t, v) in enumerate(rows)]

def shifted(name, dvalid=0., dtrain=0.): return as_epochs([(t+dtrain, v+dvalid) for t, v in BOOK_LOSSES[name]])

def test_the_books_numbers_pass():
    assert all(passed(check_run(n, as_epochs(v))) for n, v in BOOK_LOSSES.items())
    assert all(c['passed'] for c in check_claims({n: as_epochs(v) for n, v in BOOK_LOSSES.items()}))

@pytest.mark.parametrize('dvalid, dtrain, ok', [(0.029, 0., True), (-0.029, 0.049, True), (0.031, 0., False), (0., 0.051, False)])
def test_final_tolerances(dvalid, dtrain, ok):
    assert passed(check_run('collab_nn', shifted('collab_nn', dvalid, dtrain))) is ok

def test_per_epoch_valid_tolerance():
    e = shifted('collab_nn'); e[1]['valid_loss'] += 0.061
    failed = [c['name'] for c in check_run('collab_nn', e) if not c['passed']]
    assert failed == ['epoch 1 valid_loss']

def test_dot_product_is_judged_on_its_final_valid_loss_only():
    e = shifted('dot_product', dtrain=0.4); e[0]['valid_loss'] += 0.3
    assert passed(check_run('dot_product', e)) is True
    assert passed(check_run('dot_product', shifted('dot_product', dvalid=0.031))) is False

def test_other_epoch_counts_are_not_judged():
    assert passed(check_run('collab_nn', shifted('collab_nn')[:2])) is None

def test_claims_fail_when_weight_decay_does_not_help():
    runs = {n: as_epochs(v) for n, v in BOOK_LOSSES.items()}
    runs['dot_product_bias_wd'] = shifted('dot_product_bias_wd', dvalid=0.05)
    claims = {c['name']: c['passed'] for c in check_claims(runs)}
    assert claims['weight decay cures the overfitting'] is False
    assert claims['create_params matches Embedding'] is False

def test_seed_band():
    band = seed_band([shifted('collab_nn', 0.01), shifted('collab_nn', -0.01)])
    assert band['valid_loss']['std'][-1] == pytest.approx(0.01)
    assert all(o['inside'] for o in book_in_band('collab_nn', band))

def test_reproduce_on_synthetic_ratings(synthetic_ratings, tmp_path):
    res = reproduce(['collab_nn', 'dot_product_bias'], 'both', epochs=2, seeds=2, out=tmp_path, ratings=synthetic_ratings)
    assert res['passed'] is None  # 2 epochs are not the book's 5: nothing judged
    on_disk = json.loads((tmp_path/'results.json').read_text())
    assert on_disk['settings']['loader'] == 'fast' and set(on_disk['profiles']) == {'book', 'fastai'}
    exp = on_disk['profiles']['book']['experiments']['collab_nn']
    assert len(exp['epochs']) == 2 and len(exp['book']) == 5 and exp['seeds']['seeds'] == [1, 2]
    env = on_disk['environment']
    assert {'python', 'fastai', 'torch', 'pandas', 'numpy', 'platform', 'cpu_model', 'cpu', 'blas', 'onednn',
            'torch_threads', 'numerics'} <= set(env)
    assert env['numerics']['mode'] == 'portable' and env['numerics']['variables']['MKL_CBWR'] == 'COMPATIBLE'
    assert env['numerics']['portable'] and env['numerics']['pinned'] == ['batch_norm', 'sqrt']  # recorded after the runs
    assert on_disk['golden']['status'] == 'not compared'  # a ratings frame, not the genuine data
    report = (tmp_path/'report.md').read_text()
    assert 'Why the profiles differ' in report and 'fastai PR #3995' in report and 'Seed study' in report
    assert (tmp_path/'collab_nn.png').read_bytes()[:4] == b'\x89PNG'

@pytest.mark.parametrize('args, msg', [
    (['--experiments', 'dot_product,nope'], "unknown experiment 'nope': choose from dot_product, "),
    (['--profile', 'stock'], "invalid choice: 'stock' (choose from 'book', 'fastai', 'both')"),
    (['--loader', 'turbo'], "invalid choice: 'turbo' (choose from 'fast', 'stock')"),
    (['--epochs', '0'], 'epochs must be at least 1'),
    (['--seeds', '0'], 'seeds must be at least 1'),
    (['--learning-rate', '1'], 'unrecognized arguments: --learning-rate'),
])
def test_reproduce_bad_arguments_before_any_work(cli, tmp_path, args, msg):
    # the data named here does not exist: an argument error must be found first
    code, out, err = cli('reproduce', '--data', str(tmp_path/'nowhere.zip'), '--out', str(tmp_path/'out'), *args)
    assert code == 2 and msg in err and out == ''

def test_reproduce_unwritable_output(cli, tmp_path):
    (tmp_path/'file').write_text('x')
    code, out, err = cli('reproduce', '--out', str(tmp_path/'file'/'out'))
    assert code == 2 and 'cannot write the output folder' in err and '--out' in err

def test_reproduce_missing_data(cli, tmp_path):
    code, out, err = cli('reproduce', '--data', str(tmp_path/'nowhere.zip'), '--out', str(tmp_path/'out'))
    assert code == 2 and 'does not exist' in err and not (tmp_path/'out'/'results.json').exists()

def test_unknown_loader_is_an_argument_error(tmp_path):
    with pytest.raises(ValueError, match='unknown loader .turbo.: choose from fast, stock'):
        check_args(None, 'book', None, 1, tmp_path, loader='turbo')
